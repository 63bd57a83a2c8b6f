"""Charts drawn on the server as small inline SVG: no JavaScript, readable by screen readers
(each chart has a title, and its numbers are also in a table next to it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

from markupsafe import Markup

_WIDTH, _BAR, _GAP, _LABEL = 320, 22, 8, 110


def bar_chart(title: str, bars: Sequence[tuple[str, int]], unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    if not bars:
        return Markup("")
    top = max(value for _, value in bars) or 1
    height = len(bars) * (_BAR + _GAP)
    span = _WIDTH - _LABEL - 60
    rows = []
    for index, (label, value) in enumerate(bars):
        y = index * (_BAR + _GAP)
        width = max(2, round(span * value / top)) if value else 0
        rows.append(
            f'<text x="0" y="{y + 16}" class="chart-label">{escape(label)}</text>'
            f'<rect x="{_LABEL}" y="{y}" width="{width}" height="{_BAR}" rx="3" class="chart-bar"/>'
            f'<text x="{_LABEL + width + 6}" y="{y + 16}" class="chart-value">'
            f"{escape(str(value))}{escape(unit)}</text>"
        )
    return Markup(  # noqa: S704 - every interpolated text is escaped above
        f'<svg class="chart" role="img" viewBox="0 0 {_WIDTH} {height}" '
        f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(rows)
        + "</svg>"
    )


def line_chart(title: str, points: Sequence[tuple[str, int]]) -> Markup:
    """A polyline through (label, value) points in order (e.g. a running balance)."""
    if len(points) < 2:
        return Markup("")
    width, height, pad = _WIDTH, 140, 10
    values = [value for _, value in points]
    low, high = min(0, *values), max(values) or 1
    step = (width - 2 * pad) / (len(points) - 1)

    def y(value: int) -> float:
        return pad + (height - 2 * pad) * (1 - (value - low) / ((high - low) or 1))

    coords = " ".join(f"{pad + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    return Markup(  # noqa: S704 - every interpolated text is escaped above
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<line x1="{pad}" y1="{y(0):.1f}" x2="{width - pad}" y2="{y(0):.1f}" class="chart-axis"/>'
        f'<polyline points="{coords}" class="chart-line" fill="none"/></svg>'
    )


def titled_bars(
    t: Callable[[str], str], title: str, bars: Sequence[tuple[str, int]]
) -> tuple[str, Markup]:
    """A bar chart with its title (shown as the heading above it), in the user's language."""
    return t(title), bar_chart(t(title), bars)


def by_status(t: Callable[[str], str], counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Bars of counts per status, labelled in the user's language."""
    return [(t(f"status_{name}"), count) for name, count in sorted(counts.items())]


#: Buckets of the time-to-completion chart: (label key, upper bound in seconds).
COMPLETION_BUCKETS = (
    ("within_hour", 3600),
    ("within_day", 86400),
    ("within_week", 7 * 86400),
    ("over_week", None),
)


def completion_times(t: Callable[[str], str], seconds: Sequence[float]) -> list[tuple[str, int]]:
    """Bars of how many orders took how long from being taken to being paid (empty when no
    order was paid yet)."""
    if not seconds:
        return []
    counts = dict.fromkeys((key for key, _ in COMPLETION_BUCKETS), 0)
    for value in seconds:
        key = next(k for k, bound in COMPLETION_BUCKETS if bound is None or value < bound)
        counts[key] += 1
    return [(t(f"took_{key}"), count) for key, count in counts.items()]


def median(values: Sequence[float]) -> float | None:
    """The median of ``values`` (``None`` when there are none)."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
