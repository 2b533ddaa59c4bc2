"""Figures, ratios and the generated part of BENCHMARKS.md (pure functions, no Django).

The harness rewrites only what lies between the two markers below; everything else in the file
(the hand-written "Profile notes") survives every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

START_MARKER = "<!-- bench:results:start (written by bench/run.py; edit outside the markers) -->"
END_MARKER = "<!-- bench:results:end -->"

PROFILE_NOTES_STUB = """## Profile notes

Hand-written, kept across runs: where a ratio is poor, what the profiler showed and what was done.
"""


def percentile(ordered: list[float], pct: float) -> float:
    """The pct-th percentile of an already sorted list, interpolating between neighbours."""
    if not ordered:
        raise ValueError("percentile of an empty list")
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value ÷ baseline, or None when either is missing or the baseline is zero."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


@dataclass(frozen=True)
class Target:
    """What the product must reach: `op` is one of >=, <=, < applied to the figure's value."""

    op: str
    threshold: float
    unit: str = ""

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.op == ">=":
            return value >= self.threshold
        if self.op == "<=":
            return value <= self.threshold
        if self.op == "<":
            return value < self.threshold
        raise ValueError(f"unknown target operator {self.op!r}")

    def __str__(self) -> str:
        return f"{self.op.replace('>=', '≥').replace('<=', '≤')} {fmt_number(self.threshold)}{self.unit}"


@dataclass
class Figure:
    """One row of the table: what was measured, against what, and how it compares."""

    name: str
    measured: str
    baseline: str = "—"
    value: float | None = None  # the ratio (or the absolute figure the target applies to)
    value_text: str | None = None
    target: Target | None = None
    note: str = ""
    met_override: bool | None = None  # for targets that are not a threshold (constant queries)
    target_text: str | None = None

    @property
    def met(self) -> bool | None:
        if self.met_override is not None:
            return self.met_override
        return self.target.met(self.value) if self.target else None

    def cells(self) -> list[str]:
        value = self.value_text if self.value_text is not None else fmt_ratio(self.value)
        target = (
            self.target_text
            if self.target_text is not None
            else (str(self.target) if self.target else "—")
        )
        verdict = {True: "yes", False: "**no**", None: "—"}[self.met]
        return [self.name, self.measured, self.baseline, value, target, verdict, self.note]


@dataclass
class Report:
    figures: list[Figure]
    machine: dict[str, str]
    date: str
    command: str
    mode: str
    settings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def fmt_number(value: float) -> str:
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:g}"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}"


def fmt_rate(value: float | None, unit: str = "req/s") -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.1f} ms"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.3f} s" if value < 10 else f"{value:,.1f} s"


def fmt_mb(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.1f} MB"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    out = [line(headers), "|" + "|".join("---" for _ in headers) + "|"]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def render_results(report: Report) -> str:
    """The generated section: table, machine, date, command, run settings."""
    table = markdown_table(
        ["Figure", "Measured", "Baseline (same run)", "Ratio / value", "Target", "Met", "Notes"],
        [figure.cells() for figure in report.figures],
    )
    machine = "; ".join(f"{key}: {value}" for key, value in report.machine.items())
    parts = [
        f"Mode: **{report.mode}**. Date: {report.date}. Command: `{report.command}`.",
        "",
        f"Machine: {machine}.",
        "",
        table,
    ]
    if report.settings:
        parts += ["", "How it was measured:", ""] + [f"- {line}" for line in report.settings]
    if report.skipped:
        parts += ["", "Not measured in this run:", ""] + [f"- {line}" for line in report.skipped]
    return "\n".join(parts)


def splice(existing: str | None, generated: str) -> str:
    """The file with the generated section replaced (or added), the rest kept as written."""
    block = f"{START_MARKER}\n{generated.rstrip()}\n{END_MARKER}"
    if not existing or START_MARKER not in existing or END_MARKER not in existing:
        header = "# Benchmarks\n\nThe table is written by `make bench` (bench/run.py); the rest by hand.\n"
        tail = PROFILE_NOTES_STUB
        if existing and existing.strip():
            # Keep whatever a person wrote, below the new table.
            tail = existing.strip() + "\n"
        return f"{header}\n{block}\n\n{tail}"
    before, rest = existing.split(START_MARKER, 1)
    _, after = rest.split(END_MARKER, 1)
    return f"{before}{block}{after}"


def write_benchmarks(path: Path, generated: str) -> None:
    existing = path.read_text() if path.exists() else None
    path.write_text(splice(existing, generated))
