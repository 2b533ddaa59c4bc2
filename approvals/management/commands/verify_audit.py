from __future__ import annotations

import re
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from approvals.audit.checkpoints import Checkpoint, CheckpointError, read_checkpoints
from approvals.audit.verify import audit_verify
from approvals.management.base import OneLineErrorsCommand


def _sha256_hex(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", value.strip().lower()):
        raise ArgumentTypeError(f"{value!r} is not a SHA-256 hash (64 hex digits)")
    return value.strip().lower()


class Command(OneLineErrorsCommand):
    help = (
        "Re-compute the audit hash chain and compare it with the live decisions. "
        "Exit 0 with a summary line if intact (and how many entries wait to be sealed); "
        "exit 1 naming the first broken entry. With --checkpoints DIR the chain must also reach "
        "every signed checkpoint in DIR (docs/security.md); with --expect-head the head must be "
        "that hash."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints",
            metavar="DIR",
            type=Path,
            help="a directory of exported signed checkpoints the chain must reach",
        )
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            type=_sha256_hex,
            help="fail unless the chain's head is this hash",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoints: list[Checkpoint] = []
        if options["checkpoints"] is not None:
            try:
                checkpoints = read_checkpoints(options["checkpoints"])
            except CheckpointError as exc:
                raise CommandError(f"Audit checkpoints refused: {exc}", returncode=1) from None
        result = audit_verify(
            anchors={c.seq: c.head for c in checkpoints}, expect_head=options["expect_head"]
        )
        if result.broken is not None:
            raise CommandError(f"Audit chain broken at {result.broken.describe()}", returncode=1)
        self.stdout.write(
            f"Audit chain intact: {result.entries} entries, {result.decisions} decisions, "
            f"last hash {result.last_hash[:16]}…"
            + (
                f"; reaches {len(checkpoints)} signed checkpoints (latest #{checkpoints[-1].seq})"
                if checkpoints
                else ""
            )
            + (f"; {result.unsealed} newer entries wait to be sealed" if result.unsealed else "")
        )
