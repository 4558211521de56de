"""bench/report.html: the results of ``make bench`` as one page to open from disk.

Every line of the terminal table (bench/report.py's ``ROWS``) is drawn as a pair of
bars, the figure above its floor on one scale, with the numbers written beside them;
the HTTP loads (bench/http_load.py) also as latency percentile curves, each beside its
floor's. Each chart is an inline SVG followed by a table of the same numbers. No script,
no font or style sheet from elsewhere: the page is whole in itself.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import HTTP_LOADS, ROWS, SCALES, Row

SECTION_TITLES = {
    "cold_start": "Cold start",
    "registration": "A registration's request path",
    "join_click": "A join link's click",
    "email_cpu": "CPU per confirmation email",
    "zoom": "Zoom sync",
    "zoom_table": "DynamoDB calls of the Zoom sync",
    "campaign_fanout": "Campaign fan-out",
    "campaign_sending": "Campaign sending",
    "send_pacing": "Send pacing",
    "mail_priority": "Confirmations during a campaign",
    "http_load": "HTTP load on local mode",
    "programme_change": "Programme change",
    "challenge": "ALTCHA's proof of work",
    "console": "Organisers' console at 50,000 registrations",
}

FIGURE_COLOUR = "#1d5fa8"  # 6.6:1 on white
FLOOR_COLOUR = "#6b6b6b"  # 5.3:1 on white
INK = "#1a1a1a"
GRID = "#d0d0d0"

# The bar pair's drawing, in SVG units: labels, then the bars, then the numbers.
WIDTH = 960
BAR_START, BAR_END, TEXT_AT = 70, 600, 612
BAR_HEIGHT, BAR_GAP = 20, 8
# A scale reaches this many times the larger median at most; a max beyond is an arrow.
MOST_OF_MEDIAN = 4.0

STYLE = """
body { margin: 0; background: #fff; color: #1a1a1a;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.75rem; margin: 1rem 0 .5rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .25rem; padding-bottom: .2rem;
  border-bottom: 2px solid #1d5fa8; }
h3 { font-size: 1.05rem; margin: 1.75rem 0 .25rem; }
a { color: #174d89; }
a:focus-visible, .scroll:focus-visible { outline: 3px solid #174d89; outline-offset: 2px; }
.measured { margin: 0 0 .5rem; color: #404040; }
.ratio { display: inline-block; margin-left: .5rem; padding: 0 .4rem; border-radius: .2rem;
  background: #e8eef7; color: #123a66; font-weight: 700; white-space: nowrap; }
.note { margin: .25rem 0; color: #333; }
.detail { display: flex; flex-wrap: wrap; gap: 0 1.5rem; align-items: flex-start; }
.detail table { flex: none; }
.detail .note { flex: 1 1 18rem; margin-top: .5rem; }
.notes { color: #333; padding-left: 1.25rem; }
.stale { padding: .5rem .75rem; border-left: 4px solid #a35200; background: #fdf3ea; }
svg { display: block; width: 100%; height: auto; margin: .25rem 0; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial,
  sans-serif; }
table { border-collapse: collapse; font-size: .9rem; margin: .5rem 0; min-width: 16rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { border: 1px solid #b3b3b3; padding: .15rem .5rem; text-align: right; }
th { background: #f2f2f2; font-weight: 600; }
th[scope="row"] { text-align: left; }
td { font-variant-numeric: tabular-nums; }
.scroll { display: inline-block; max-height: 20rem; overflow: auto; margin: .5rem 0;
  border: 1px solid #b3b3b3; }
.scroll table { margin: 0; }
.scroll caption { padding: .25rem .5rem; background: #fff; }
"""


def write(results: dict[str, Any], path: Path) -> Path:
    """Write the page for ``results`` (as in bench/results.json) to ``path``."""
    path.write_text(render(results), encoding="utf-8")
    return path


def render(results: dict[str, Any]) -> str:
    """The page: every section in ``results``, in the order ``make bench`` runs them."""
    measured_at = results.get("measured_at", {})
    present = [name for name in ROWS if name in results]
    missing = [name for name in ROWS if name not in results]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Majlis benchmarks</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>Majlis benchmarks</h1>",
        "<p>Each figure is a median with its min–max over repeated runs, beside a floor"
        " measured in the same run; the ratio is figure / floor. The bars of a figure and"
        " its floor share one scale; the line through a bar is its min–max, and an arrow"
        " marks a max beyond the scale. Figures without a floor share a scale with"
        " those of their section. Each chart is followed by a table of its numbers.</p>",
    ]
    if present:
        parts.append('<nav aria-label="Sections"><ul>')
        parts.extend(
            f'<li><a href="#{_e(name)}">{_e(SECTION_TITLES.get(name, name))}</a></li>'
            for name in present
        )
        parts.append("</ul></nav>")
    else:
        parts.append("<p>No results yet: run <code>make bench</code>.</p>")
    if missing:
        parts.append(
            "<p>Not in these results: "
            + ", ".join(f"<code>{_e(name)}</code>" for name in missing)
            + f' (<code>make bench SECTIONS="{_e(" ".join(missing))}"</code> measures'
            " them).</p>"
        )
    for name in present:
        parts.append(_section(name, results[name], measured_at.get(name)))
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _section(name: str, data: Any, measured_at: str | None) -> str:
    title = SECTION_TITLES.get(name, name)
    parts = [
        f'<section id="{_e(name)}" aria-labelledby="{_e(name)}-heading">',
        f'<h2 id="{_e(name)}-heading">{_e(title)}</h2>',
        f'<p class="measured">{_measured(measured_at)}</p>',
    ]
    try:
        lines = ROWS[name](data)
        distributions = _distributions(data) if name == "http_load" else []
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError):
        parts.append(
            '<p class="stale">These results are not in the shape this page reads (kept'
            " from an older run?): run the section again, <code>make bench"
            f' SECTIONS="{_e(name)}"</code>.</p>'
        )
        parts.append("</section>")
        return "\n".join(parts)
    rows = [line for line in lines if isinstance(line, Row)]
    notes = [line for line in lines if isinstance(line, str)]
    # Figures without a floor are drawn on one scale, section by section, unit by unit.
    alone: dict[str, float] = {}
    for row in rows:
        if row.floor is None:
            alone[row.unit] = max(alone.get(row.unit, 0.0), row.median * SCALES[row.unit])
    for index, row in enumerate(rows):
        parts.append(_figure(f"{name}-{index}", row, alone.get(row.unit)))
    if notes:
        parts.append('<ul class="notes">')
        parts.extend(f"<li>{_e(note)}</li>" for note in notes)
        parts.append("</ul>")
    if distributions:
        parts.append("<h3>Latency distributions</h3>")
        parts.append(
            "<p>The latency of every answered request at each percentile, p0 (the fastest)"
            " to p100 (the slowest), on a log scale: each load beside the same load on its"
            " floor's route, sent just before it by the same clients.</p>"
        )
        parts.extend(distributions)
    parts.append("</section>")
    return "\n".join(parts)


def _measured(when: str | None) -> str:
    if not when:
        return "Time measured: not recorded."
    try:
        shown = datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        shown = str(when)
    return f'Measured <time datetime="{_e(when)}">{_e(shown)}</time>.'


# The bar pair of one row, and its table.


def _places(row: Row) -> int:
    return 2 if row.unit == "" else row.decimals


def _number(row: Row, value: float) -> str:
    """A value of ``row`` as the page writes it: in the row's unit, to its places."""
    return f"{value * SCALES[row.unit]:.{_places(row)}f}"


def _with_unit(row: Row, value: float) -> str:
    return f"{_number(row, value)} {row.unit}".rstrip()


def _spread_text(row: Row, median: float, low: float | None, high: float | None) -> str:
    text = _with_unit(row, median)
    if low is not None and high is not None:
        text += f" [{_number(row, low)}–{_number(row, high)}]"
    return text


def _figure(ident: str, row: Row, alone: float | None = None) -> str:
    heading = f'<h3 id="{_e(ident)}">{_e(row.title)}'
    if row.ratio is not None:
        heading += f' <span class="ratio">ratio {row.ratio:.2f}</span>'
    heading += "</h3>"
    parts = [heading, _bars(row, alone), '<div class="detail">', _row_table(row)]
    if row.note:
        parts.append(f'<p class="note">{_e(row.note)}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def _label(row: Row) -> str:
    label = f"{row.title}: figure {_spread_text(row, row.median, row.low, row.high)}"
    if row.floor is None:
        return label + "; no floor"
    label += f"; floor {_spread_text(row, row.floor, row.floor_low, row.floor_high)}"
    return label + f"; ratio {row.ratio:.2f}"


def _bars(row: Row, alone: float | None = None) -> str:
    """The figure's bar above its floor's, on one scale; a figure without a floor on the
    scale its section's other such figures share (``alone``: their largest)."""
    scale = SCALES[row.unit]
    bars = [("figure", row.median, row.low, row.high, FIGURE_COLOUR)]
    if row.floor is not None:
        bars.append(("floor", row.floor, row.floor_low, row.floor_high, FLOOR_COLOUR))
    medians = [median * scale for _, median, *_ in bars]
    ends = [v * scale for _, _, low, high, _ in bars for v in (low, high) if v is not None]
    top = max(medians) or 1.0
    axis = min(max([top, *ends]), top * MOST_OF_MEDIAN)
    if row.floor is None and alone:
        axis = max(axis, alone)

    def x(value: float) -> float:
        return BAR_START + (BAR_END - BAR_START) * min(max(value, 0.0), axis) / axis

    height = BAR_GAP + len(bars) * (BAR_HEIGHT + BAR_GAP)
    label = _label(row)
    out = [
        f'<svg role="img" aria-label="{_e(label)}" viewBox="0 0 {WIDTH} {height}"'
        f' width="{WIDTH}" height="{height}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{_e(label)}</title>",
        f'<line x1="{BAR_START}" y1="2" x2="{BAR_START}" y2="{height - 2}"'
        f' stroke="{INK}" stroke-width="1"/>',
    ]
    for index, (name, median, low, high, colour) in enumerate(bars):
        top_y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        middle = top_y + BAR_HEIGHT / 2
        end = max(x(median * scale), BAR_START + 1.5)
        out.append(
            f'<text x="0" y="{middle + 5:.1f}" font-size="14" fill="{INK}">{_e(name)}</text>'
        )
        out.append(
            f'<rect x="{BAR_START}" y="{top_y}" width="{end - BAR_START:.1f}"'
            f' height="{BAR_HEIGHT}" fill="{colour}"/>'
        )
        if low is not None and high is not None:
            left, right = x(low * scale), x(high * scale)
            out.append(
                f'<line x1="{left:.1f}" y1="{middle}" x2="{right:.1f}" y2="{middle}"'
                f' stroke="{INK}" stroke-width="2"/>'
            )
            out.append(
                f'<line x1="{left:.1f}" y1="{top_y + 3}" x2="{left:.1f}"'
                f' y2="{top_y + BAR_HEIGHT - 3}" stroke="{INK}" stroke-width="2"/>'
            )
            if high * scale > axis:  # beyond the scale: an arrow at its end
                out.append(
                    f'<polygon points="{BAR_END + 8},{middle} {BAR_END},{middle - 6}'
                    f' {BAR_END},{middle + 6}" fill="{INK}"/>'
                )
            else:
                out.append(
                    f'<line x1="{right:.1f}" y1="{top_y + 3}" x2="{right:.1f}"'
                    f' y2="{top_y + BAR_HEIGHT - 3}" stroke="{INK}" stroke-width="2"/>'
                )
        text = _spread_text(row, median, low, high)
        if row.floor is None:
            text += " (no floor)"
        out.append(
            f'<text x="{TEXT_AT + 8}" y="{middle + 5:.1f}" font-size="14"'
            f' fill="{INK}">{_e(text)}</text>'
        )
    if row.ratio is not None:
        out.append(
            f'<text x="{WIDTH - 4}" y="{height / 2 + 5:.1f}" font-size="15" font-weight="700"'
            f' text-anchor="end" fill="{INK}">ratio {row.ratio:.2f}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _row_table(row: Row) -> str:
    ranged = any(v is not None for v in (row.low, row.high, row.floor_low, row.floor_high))
    unit = f" ({row.unit})" if row.unit else ""
    columns = ["median", "min", "max"] if ranged else ["value"]

    def cells(median: float, low: float | None, high: float | None) -> str:
        values = [median, low, high] if ranged else [median]
        return "".join(f"<td>{'none' if v is None else _number(row, v)}</td>" for v in values)

    out = [
        '<table class="data">',
        f"<caption>{_e(row.title)}</caption>",
        '<thead><tr><th scope="col">measured</th>'
        + "".join(f'<th scope="col">{_e(c + unit)}</th>' for c in columns)
        + "</tr></thead>",
        "<tbody>",
        f'<tr><th scope="row">figure</th>{cells(row.median, row.low, row.high)}</tr>',
    ]
    if row.floor is not None:
        out.append(
            f'<tr><th scope="row">floor</th>{cells(row.floor, row.floor_low, row.floor_high)}</tr>'
        )
    if row.ratio is not None:
        out.append(
            f'<tr><th scope="row">ratio, figure / floor</th>'
            f'<td colspan="{len(columns)}">{row.ratio:.2f}</td></tr>'
        )
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


# The HTTP loads' latency distributions.

# The latency chart's plot, in SVG units, below its legend.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 86, 940, 58, 306
PLOT_HEIGHT = 356
SHOWN_PERCENTILES = (0, 50, 99, 100)  # what a run that kept no distribution still has
SMALLEST_MS = 0.001

# A curve: its name, the load's summary, its latencies by percentile, colour and dashes.
Curve = tuple[str, dict[str, Any], dict[int, float], str, str]


def _latency(seconds: float) -> str:
    """A latency as the distributions' tables write it: milliseconds, two places."""
    return f"{seconds * 1000:.2f}"


def _percentiles(summary: dict[str, Any]) -> dict[int, float]:
    """The latency (seconds) at each percentile the load kept: all of p0..p100, or only
    p0, p50, p99 and p100 from a run that kept summary percentiles alone."""
    kept = summary.get("percentiles")
    if kept:
        return dict(enumerate(kept))
    values = (summary["min"], summary["p50"], summary["p99"], summary["max"])
    return dict(zip(SHOWN_PERCENTILES, values, strict=True))


def _distributions(load: dict[str, Any]) -> list[str]:
    return [_distribution(key, title, load[key]) for key, title in HTTP_LOADS if key in load]


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _load_text(summary: dict[str, Any]) -> str:
    lost = sum(summary["connection_errors"].values())
    return (
        f"p50 {_latency(summary['p50'])} ms, p99 {_latency(summary['p99'])} ms,"
        f" {summary['per_second']:.1f} requests a second,"
        f" {_count(summary['error_statuses'], 'error status', 'error statuses')},"
        f" {_count(lost, 'connection error', 'connection errors')}"
    )


def _distribution(key: str, title: str, row: dict[str, Any]) -> str:
    figure, floor = row["figure"], row["floor"]
    curves = [
        ("figure", figure, _percentiles(figure), FIGURE_COLOUR, ""),
        ("floor", floor, _percentiles(floor), FLOOR_COLOUR, "7 5"),
    ]
    ident = f"latency-{key}"
    label = (
        f"{title}: latency by percentile, log scale. Figure ({figure['what']}): "
        f"{_load_text(figure)}. Floor ({floor['what']}): {_load_text(floor)}."
    )
    parts = [
        f'<h4 id="{_e(ident)}">{_e(title)}: {_e(_count(figure["requests"], "request", "requests"))}'
        f" from {_e(row['clients'])} clients</h4>",
        f'<p class="note"><strong>Figure</strong> ({_e(figure["what"])}): {_e(_load_text(figure))}.'
        f"<br><strong>Floor</strong> ({_e(floor['what'])}): {_e(_load_text(floor))}."
        f"<br>p50 ratio {row['ratio']:.2f}; throughput, floor / figure,"
        f" {row['throughput_ratio']:.2f}.</p>",
        _curves(label, curves),
    ]
    if any(not summary.get("percentiles") for _, summary, *_ in curves):
        parts.append(
            '<p class="note">This run kept only p0, p50, p99 and p100 of this load; later'
            " runs keep every percentile.</p>"
        )
    parts += [
        '<div class="detail">',
        _percentile_table(title, ident, curves),
        _load_table(title, row),
        "</div>",
    ]
    return "\n".join(parts)


def _ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1,) if last - first > 4 else (1, 2, 5)
    return [
        step * 10.0**power
        for power in range(first, last + 1)
        for step in steps
        if low <= step * 10.0**power <= high
    ]


def _tick_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _curves(label: str, curves: list[Curve]) -> str:
    values = [max(v * 1000, SMALLEST_MS) for _, _, points, *_ in curves for v in points.values()]
    low = 10.0 ** math.floor(math.log10(min(values)))
    high = 10.0 ** math.ceil(math.log10(max(values)))
    if high <= low:
        high = low * 10

    def y(ms: float) -> float:
        share = (math.log10(max(ms, SMALLEST_MS)) - math.log10(low)) / math.log10(high / low)
        return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * share

    def x(percentile: float) -> float:
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * percentile / 100

    out = [
        f'<svg role="img" aria-label="{_e(label)}" viewBox="0 0 {WIDTH} {PLOT_HEIGHT}"'
        f' width="{WIDTH}" height="{PLOT_HEIGHT}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{_e(label)}</title>",
    ]
    for tick in _ticks(low, high):
        at = y(tick)
        out.append(
            f'<line x1="{PLOT_LEFT}" y1="{at:.1f}" x2="{PLOT_RIGHT}" y2="{at:.1f}"'
            f' stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{PLOT_LEFT - 6}" y="{at + 4:.1f}" font-size="13" text-anchor="end"'
            f' fill="{INK}">{_e(_tick_text(tick))}</text>'
        )
    for percentile in range(0, 101, 10):
        at = x(percentile)
        out.append(
            f'<line x1="{at:.1f}" y1="{PLOT_BOTTOM}" x2="{at:.1f}" y2="{PLOT_BOTTOM + 5}"'
            f' stroke="{INK}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{at:.1f}" y="{PLOT_BOTTOM + 20}" font-size="13" text-anchor="middle"'
            f' fill="{INK}">{percentile}</text>'
        )
    out += [
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{PLOT_LEFT}" y2="{PLOT_BOTTOM}"'
        f' stroke="{INK}" stroke-width="1"/>',
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}"'
        f' stroke="{INK}" stroke-width="1"/>',
        f'<text x="{(PLOT_LEFT + PLOT_RIGHT) / 2}" y="{PLOT_HEIGHT - 6}" font-size="13"'
        f' text-anchor="middle" fill="{INK}">percentile</text>',
        f'<text x="14" y="{(PLOT_TOP + PLOT_BOTTOM) / 2}" font-size="13" text-anchor="middle"'
        f' fill="{INK}" transform="rotate(-90 14 {(PLOT_TOP + PLOT_BOTTOM) / 2})">'
        "latency, ms (log scale)</text>",
    ]
    for index, (name, summary, points, colour, dashes) in enumerate(curves):
        line = " ".join(f"{x(p):.1f},{y(v * 1000):.1f}" for p, v in sorted(points.items()))
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        out.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2.5"'
            f' stroke-linejoin="round"{dash}/>'
        )
        few = len(points) <= len(SHOWN_PERCENTILES)
        marked = points if few else {p: points[p] for p in (50, 99) if p in points}
        dots = ", ".join(f"p{p}" for p in sorted(marked))
        out.extend(
            f'<circle cx="{x(p):.1f}" cy="{y(v * 1000):.1f}" r="4" fill="{colour}"/>'
            for p, v in sorted(marked.items())
        )
        legend_y = 20 + index * 22
        out.append(
            f'<line x1="{PLOT_LEFT + 14}" y1="{legend_y - 4}" x2="{PLOT_LEFT + 50}"'
            f' y2="{legend_y - 4}" stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
        out.append(
            f'<text x="{PLOT_LEFT + 58}" y="{legend_y}" font-size="13" fill="{INK}">'
            f"{_e(name)}: {_e(summary['what'])} (dots: {_e(dots)})</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def _percentile_table(title: str, ident: str, curves: list[Curve]) -> str:
    (_, _, figure, *_), (_, _, floor, *_) = curves
    rows = sorted(set(figure) | set(floor))
    out = [
        f'<div class="scroll" tabindex="0" role="region" aria-labelledby="{_e(ident)}-caption">',
        '<table class="data">',
        f'<caption id="{_e(ident)}-caption">{_e(title)}: latency by percentile (ms)</caption>',
        '<thead><tr><th scope="col">percentile</th><th scope="col">figure (ms)</th>'
        '<th scope="col">floor (ms)</th></tr></thead>',
        "<tbody>",
    ]
    out.extend(
        f'<tr><th scope="row">p{p}</th>{_cell(figure.get(p))}{_cell(floor.get(p))}</tr>'
        for p in rows
    )
    out += ["</tbody>", "</table>", "</div>"]
    return "\n".join(out)


def _cell(seconds: float | None) -> str:
    return "<td>none</td>" if seconds is None else f"<td>{_latency(seconds)}</td>"


def _load_table(title: str, row: dict[str, Any]) -> str:
    figure, floor = row["figure"], row["floor"]

    def statuses(summary: dict[str, Any]) -> str:
        return ", ".join(f"{code}: {n:,}" for code, n in summary["statuses"].items()) or "none"

    measures = [
        ("requests", f"{figure['requests']:,}", f"{floor['requests']:,}"),
        ("seconds", f"{figure['seconds']:.1f}", f"{floor['seconds']:.1f}"),
        ("requests a second", f"{figure['per_second']:.1f}", f"{floor['per_second']:.1f}"),
        ("p50 (ms)", _latency(figure["p50"]), _latency(floor["p50"])),
        ("p99 (ms)", _latency(figure["p99"]), _latency(floor["p99"])),
        ("min (ms)", _latency(figure["min"]), _latency(floor["min"])),
        ("max (ms)", _latency(figure["max"]), _latency(floor["max"])),
        ("statuses", statuses(figure), statuses(floor)),
        ("error statuses", f"{figure['error_statuses']:,}", f"{floor['error_statuses']:,}"),
        (
            "connection errors",
            f"{sum(figure['connection_errors'].values()):,}",
            f"{sum(floor['connection_errors'].values()):,}",
        ),
    ]
    out = [
        '<table class="data">',
        f"<caption>{_e(title)}: the load and its floor, from {_e(row['clients'])}"
        " clients</caption>",
        '<thead><tr><th scope="col">measured</th><th scope="col">figure</th>'
        '<th scope="col">floor</th></tr></thead>',
        "<tbody>",
    ]
    out.extend(
        f'<tr><th scope="row">{_e(name)}</th><td>{_e(a)}</td><td>{_e(b)}</td></tr>'
        for name, a, b in measures
    )
    out += ["</tbody>", "</table>"]
    return "\n".join(out)
