from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from approvals.audit.csv_export import (
    ExportFilter,
    ExportParamError,
    csv_chunks,
    export_queryset,
    parse_export_params,
)
from approvals.audit.sealing import seal_pending
from approvals.management.base import OneLineErrorsCommand

BAR_WIDTH = 30


class Progress:
    """A one-line progress bar redrawn in place on a terminal's stderr, at most every 1 %."""

    def __init__(self, stream: Any, total: int) -> None:
        self.stream, self.total, self.shown = stream, total, -1

    def update(self, done: int) -> None:
        percent = 100 if self.total == 0 else min(100, done * 100 // self.total)
        if percent == self.shown:
            return
        self.shown = percent
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r[{bar}] {percent:3d}% {done:,}/{self.total:,} decisions", ending="")
        self.stream.flush()

    def finish(self, done: int) -> None:
        self.update(done)
        self.stream.write("")


class Command(OneLineErrorsCommand):
    help = (
        "Write the audit CSV (one row per decision, as docs/api.md describes) to stdout or FILE, streamed; "
        "a progress bar shows on a terminal. Dates are YYYY-MM-DD (until includes that day) "
        "or ISO 8601 date-times."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="decisions made at or after this date")
        parser.add_argument("--until", help="decisions made up to this date (inclusive)")
        parser.add_argument("--policy", help="only this policy's decisions (its slug)")
        parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            export = parse_export_params(
                since=options["since"], until=options["until"], policy=options["policy"]
            )
        except ExportParamError as exc:
            raise CommandError(str(exc)) from None
        output: str | None = options["output"]
        if not output:
            out = self.stdout._out
            self._write(export, getattr(out, "buffer", None) or _TextSink(out))
            return
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"Cannot write {output}: {target.parent} is not a directory.")
        # Write beside the target and rename at the end: a failed export leaves no half file.
        partial = target.with_name(f".{target.name}.part")
        try:
            with partial.open("wb") as stream:
                rows = self._write(export, stream)
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        self.stderr.write(f"Wrote {rows:,} decisions to {output}.")

    def _write(self, export: ExportFilter, stream: Any) -> int:
        """Stream the CSV's bytes into `stream`; returns the number of decision rows."""
        seal_pending()  # every decision's entry_hash is filled before its row is read
        progress = None
        if self.stderr.isatty():
            progress = Progress(self.stderr, export_queryset(export).count())
        chunks = csv_chunks(export)
        for chunk in chunks:
            stream.write(chunk)
            if progress is not None:
                progress.update(chunks.rows)
        if progress is not None:
            progress.finish(chunks.rows)
        return chunks.rows


class _TextSink:
    """A text stream (tests' StringIO) that the byte chunks are decoded into."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk.decode("utf-8"))
