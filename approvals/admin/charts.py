"""Small server-side SVG charts for the managers' dashboard (no JavaScript, CSP-safe).

Every chart is an inline <svg> with a viewBox, so it scales to its column; colours are SVG
presentation attributes (allowed by a strict style-src) and text uses currentColor, so the
admin's light and dark themes both read. Each bar carries a <title> with its exact value.
Everything interpolated goes through format_html, so labels are escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

INK = "#1f4e79"  # median, rates, counts
LIGHT = "#9dc3e6"  # 90th percentile, the rest of a whole
WARN = "#c0504d"  # overdue, missed, rejected
GOOD = "#4f9a57"  # auto-approved, met
MUTED = "#bfbfbf"

WIDTH = 640
LABEL_WIDTH = 170
VALUE_WIDTH = 110
ROW = 26
BAR = 16


def duration(seconds: float | None) -> str:
    """A short human duration: 45s, 12m, 3.5h, 2.1d."""
    if seconds is None:
        return "\u2013"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _f(value: float) -> str:
    # format_html escapes its arguments into strings first, so numbers are formatted here.
    return f"{value:.1f}"


def percent(fraction: float | None) -> str:
    return "\u2013" if fraction is None else f"{fraction * 100:.0f}%"


def _svg(
    title: str, height: int, body: SafeString, *, width: int = WIDTH, css: str = "cp-chart"
) -> SafeString:
    return format_html(
        '<svg class="{css}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>{body}</svg>',
        css=css,
        w=width,
        h=height,
        t=title,
        body=body,
    )


def _empty(title: str) -> SafeString:
    return _svg(
        title,
        40,
        mark_safe('<text x="0" y="24" fill="currentColor" class="cp-muted">No data yet</text>'),
    )


def _label(y: int, text: str) -> SafeString:
    shown = text if len(text) <= 24 else text[:23] + "…"
    return format_html(
        '<text x="{x}" y="{y}" text-anchor="end" fill="currentColor">{s}<title>{t}</title></text>',
        x=LABEL_WIDTH - 8,
        y=y + BAR - 3,
        s=shown,
        t=text,
    )


@dataclass(frozen=True)
class RangeBar:
    """One row of a median / 90th-percentile chart."""

    label: str
    median: float | None
    p90: float | None
    count: int


def range_bars(title: str, rows: Sequence[RangeBar]) -> SafeString:
    """Horizontal bars: the 90th percentile (light) with the median (dark) inside it."""
    if not rows:
        return _empty(title)
    top = max((r.p90 or r.median or 0) for r in rows) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = []
    for index, row in enumerate(rows):
        y = 4 + index * ROW
        p90_w = span * (row.p90 or 0) / top
        med_w = span * (row.median or 0) / top
        parts.append(
            format_html(
                '{label}<rect x="{x}" y="{y}" width="{pw}" height="{h}" fill="{light}">'
                "<title>90th percentile {p}</title></rect>"
                '<rect x="{x}" y="{y}" width="{mw}" height="{h}" fill="{ink}">'
                "<title>median {m}</title></rect>"
                '<text x="{vx}" y="{ty}" fill="currentColor">{m} · {p}'
                '<tspan class="cp-muted"> ({n})</tspan></text>',
                label=_label(y, row.label),
                x=LABEL_WIDTH,
                y=y,
                pw=_f(max(p90_w, 1)),
                mw=_f(max(med_w, 1)),
                h=BAR,
                light=LIGHT,
                ink=INK,
                m=duration(row.median),
                p=duration(row.p90),
                n=row.count,
                vx=_f(LABEL_WIDTH + max(p90_w, med_w) + 6),
                ty=y + BAR - 3,
            )
        )
    return _svg(title, 8 + len(rows) * ROW, mark_safe("".join(parts)))


@dataclass(frozen=True)
class Segment:
    value: float
    colour: str
    name: str


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[Segment], str]],
    *,
    absolute: bool = False,
) -> SafeString:
    """Horizontal bars split into segments; the third item is the text on the right.

    Each bar is a whole (100 %) by default; `absolute` scales every bar to the largest total,
    so the bars compare amounts (load, volume) instead of shares.
    """
    if not rows:
        return _empty(title)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    largest = max(sum(s.value for s in segments) for _, segments, _ in rows) or 1
    parts = []
    for index, (label, segments, text) in enumerate(rows):
        y = 4 + index * ROW
        total = largest if absolute else (sum(s.value for s in segments) or 1)
        x = float(LABEL_WIDTH)
        bars = []
        for segment in segments:
            w = span * segment.value / total
            if w > 0:
                bars.append(
                    format_html(
                        '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}">'
                        "<title>{n}: {v} ({pc})</title></rect>",
                        x=_f(x),
                        y=y,
                        w=_f(w),
                        h=BAR,
                        c=segment.colour,
                        n=segment.name,
                        v=f"{segment.value:g}",
                        pc=percent(segment.value / (sum(s.value for s in segments) or 1)),
                    )
                )
            x += w
        parts.append(
            format_html(
                '{label}{bars}<text x="{vx}" y="{ty}" fill="currentColor">{t}</text>',
                label=_label(y, label),
                bars=mark_safe("".join(bars)),
                vx=LABEL_WIDTH + span + 6,
                ty=y + BAR - 3,
                t=text,
            )
        )
    return _svg(title, 8 + len(rows) * ROW, mark_safe("".join(parts)))


def legend(items: Sequence[tuple[str, str]]) -> SafeString:
    """A row of colour swatches for the charts above it."""
    body = format_html_join(
        "",
        '<rect x="{}" y="4" width="12" height="12" fill="{}"></rect>'
        '<text x="{}" y="15" fill="currentColor">{}</text>',
        ((i * 150, colour, i * 150 + 18, name) for i, (name, colour) in enumerate(items)),
    )
    return _svg("Legend", 22, body, width=max(150 * len(items), 150), css="cp-legend")


def columns(
    title: str,
    buckets: Sequence[tuple[str, int]],
    *,
    colour: Callable[[int], str] | None = None,
    height: int = 170,
) -> SafeString:
    """A histogram: one column per bucket, its count above it, the bucket's name below."""
    if not buckets or not any(count for _, count in buckets):
        return _empty(title)
    top = max(count for _, count in buckets) or 1
    slot = WIDTH / len(buckets)
    plot = height - 44
    parts = [
        format_html(
            '<line x1="0" y1="{y}" x2="{w}" y2="{y}" stroke="{c}" stroke-width="1"></line>',
            y=plot + 18,
            w=WIDTH,
            c=MUTED,
        )
    ]
    for index, (name, count) in enumerate(buckets):
        h = plot * count / top
        x = index * slot + slot * 0.15
        parts.append(
            format_html(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}">'
                "<title>{n}: {v}</title></rect>"
                '<text x="{cx}" y="{ty}" text-anchor="middle" fill="currentColor">{v}</text>'
                '<text x="{cx}" y="{ly}" text-anchor="middle" fill="currentColor" '
                'class="cp-muted">{n}</text>',
                x=_f(x),
                y=_f(plot + 18 - h),
                w=_f(slot * 0.7),
                h=_f(max(h, 1 if count else 0)),
                c=colour(index) if colour else INK,
                n=name,
                v=count,
                cx=_f(index * slot + slot / 2),
                ty=_f(plot + 18 - h - 4),
                ly=plot + 36,
            )
        )
    return _svg(title, height, mark_safe("".join(parts)))
