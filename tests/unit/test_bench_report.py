"""bench/report.html: every figure beside its floor, the HTTP loads' latency
distributions, each chart with a table of its numbers; and the terminal table it
shares its rows with."""

from __future__ import annotations

import copy
import json
import os
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as bench_main
from bench.common import QUIET
from bench.html_report import render, write
from bench.load import Load
from bench.report import ROWS, Row, _line, _show_cold_start
from bench.sections import SECTIONS

# The results of a whole `make bench` (bench/results.json), from before the loads kept
# their distributions: the tests add those (see ``results``).
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bench" / "results.json"
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # this node's and its children's

    def all(self, tag: str) -> list[Node]:
        found = [self] if self.tag == tag else []
        for child in self.children:
            found += child.all(tag)
        return found

    def string(self) -> str:
        return " ".join("".join(self.text).split())


class _Tree(HTMLParser):
    """The page as a tree; fails on a closing tag that closes nothing open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.open = [self.root]
        self.order: list[Node] = []  # elements in document order

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(node)
        self.order.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(node)
        self.order.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1].tag == tag, f"</{tag}> closes <{self.open[-1].tag}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        for node in self.open:
            node.text.append(data)


def parse(page: str) -> _Tree:
    tree = _Tree()
    tree.feed(page)
    tree.close()
    assert [node.tag for node in tree.open] == ["#document"], "elements left open"
    return tree


def _latencies(median: float, n: int, seed: int) -> list[float]:
    draw = random.Random(seed)
    return [draw.lognormvariate(0, 0.6) * median for _ in range(n)]


def _load(median: float, n: int, seconds: float, seed: int, **counts: Any) -> dict[str, Any]:
    """A load's summary as bench/load.py makes it, from latencies drawn around ``median``."""
    return Load(
        seconds=seconds,
        latencies=_latencies(median, n, seed),
        statuses=counts.get("statuses", Counter({201: n})),
        connection_errors=counts.get("connection_errors", Counter()),
    ).summary()


def _http_row(figure: dict[str, Any], floor: dict[str, Any], what: str, clients: int) -> Any:
    """A row of http_load's results (bench/http_load.py)."""
    return {
        "floor": {"what": "GET /assets/page.css, loaded the same way"} | floor,
        "figure": {"what": what} | figure,
        "ratio": figure["p50"] / floor["p50"],
        "throughput_ratio": floor["per_second"] / figure["per_second"],
        "clients": clients,
    }


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """A whole run's results, its HTTP loads with the distributions bench/load.py keeps."""
    kept = json.loads(FIXTURE.read_text(encoding="utf-8"))
    floor = _load(0.004, 2000, 1.9, seed=1)
    live = _load(
        0.35,
        1997,
        19.0,
        seed=2,
        statuses=Counter({201: 1995, 503: 2}),
        connection_errors=Counter({"RemoteDisconnected": 3}),
    )
    kept["http_load"] |= {
        "registrations": _http_row(live, floor, "POST registration, pump running", 50),
        "registrations_pump_paused": _http_row(
            _load(0.12, 2000, 6.0, seed=3), floor, "POST registration, pump paused", 50
        ),
        "join_clicks": _http_row(
            _load(0.03, 5000, 4.2, seed=4, statuses=Counter({302: 5000})),
            _load(0.006, 5000, 3.1, seed=5),
            "GET /join/{token}, pump paused",
            100,
        ),
    }
    return kept


@pytest.fixture(scope="module")
def page(results: dict[str, Any]) -> _Tree:
    return parse(render(results))


def _terminal_rows(name: str, data: Any, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines of figures the terminal table prints for a section (not its notes)."""
    SECTIONS[name][1](data)
    lines = capsys.readouterr().out.splitlines()
    return [line for line in lines if not line.startswith(" " * 6)]


def _rows(results: dict[str, Any]) -> list[Row]:
    return [
        line for name in SECTIONS for line in ROWS[name](results[name]) if isinstance(line, Row)
    ]


def _svgs(text: str) -> list[ET.Element]:
    """The page's SVGs, read again as XML."""
    found = re.findall(r"<svg\b.*?</svg>", text, flags=re.DOTALL)
    return [ET.fromstring(svg) for svg in found]  # noqa: S314 (the page just rendered)


def _table_after(tree: _Tree, svg: Node) -> Node:
    """The first table after ``svg`` in the page, before any other chart."""
    at = next(i for i, node in enumerate(tree.order) if node is svg)
    after = tree.order[at + 1 :]
    for node in after:
        if node.tag == "svg":
            break
        if node.tag == "table":
            return node
    raise AssertionError(f"no table after the chart {svg.attrs.get('aria-label')!r}")


def _cells(table: Node) -> dict[str, list[str]]:
    """A table's rows by their header cell: the strings of their data cells."""
    return {
        row.all("th")[0].string(): [cell.string() for cell in row.all("td")]
        for row in table.all("tr")
        if row.all("td")
    }


def _chart_labelled(tree: _Tree, start: str) -> Node:
    found = [svg for svg in tree.root.all("svg") if svg.attrs["aria-label"].startswith(start)]
    assert len(found) == 1, f"{len(found)} charts labelled {start!r}"
    return found[0]


def test_the_sections_of_the_page_are_those_of_the_bench():
    assert list(ROWS) == list(SECTIONS)


def test_the_fixture_holds_every_section():
    assert set(SECTIONS) <= set(json.loads(FIXTURE.read_text(encoding="utf-8")))


def test_every_figure_of_the_terminal_table_appears_with_its_ratio(results, page, capsys):
    headings = {h.string(): h for h in page.root.all("h3")}
    seen = 0
    for name in SECTIONS:
        rows = [line for line in ROWS[name](results[name]) if isinstance(line, Row)]
        printed = _terminal_rows(name, results[name], capsys)
        assert len(printed) == len(rows)
        for row, line in zip(rows, printed, strict=True):
            assert line.startswith(row.title + " ")
            shown = [text for text in headings if text.startswith(row.title)]
            assert len(shown) == 1, row.title
            if row.ratio is not None:
                assert shown[0] == f"{row.title} ratio {row.ratio:.2f}"
            else:
                assert shown[0] == row.title
            seen += 1
    assert seen == 37  # every figure of a whole run: 7 languages, 2 Zoom syncs, 5 pages, …


def test_sections_have_headings_and_the_time_they_were_measured(results, page):
    sections = page.root.all("section")
    assert [s.attrs["id"] for s in sections] == list(SECTIONS)
    for section in sections:
        heading = section.all("h2")
        assert len(heading) == 1 and heading[0].string()
        assert section.attrs["aria-labelledby"] == heading[0].attrs["id"]
        (when,) = section.all("time")
        assert when.attrs["datetime"] == results["measured_at"][section.attrs["id"]]


def test_the_ratios_are_those_of_the_results(results, page):
    cold, pacing = results["cold_start"], results["send_pacing"]["14"]
    headings = [h.string() for h in page.root.all("h3")]
    assert f"cold start: import app + first registration ratio {cold['ratio']:.2f}" in headings
    assert f"send pacing at MaxSendRate 14/s ratio {pacing['fraction']:.2f}" in headings
    clicks = results["http_load"]["join_clicks"]
    assert f"HTTP join clicks, pump paused, p50 ratio {clicks['ratio']:.2f}" in headings


def test_each_chart_is_an_image_with_a_label_and_a_table_after_it(results, page):
    charts = page.root.all("svg")
    assert len(charts) == len(_rows(results)) + 3  # bars for each figure, 3 latency charts
    for svg in charts:
        assert svg.attrs["role"] == "img"
        label = svg.attrs["aria-label"]
        assert label
        (title,) = [child for child in svg.children if child.tag == "title"]
        assert title.string() == " ".join(label.split())
        table = _table_after(page, svg)
        assert table.all("caption")[0].string()
        headers = table.all("th")
        assert headers and all(th.attrs.get("scope") in {"col", "row"} for th in headers)


def test_the_svgs_are_well_formed_and_name_no_script(results):
    text = render(results)
    svgs = _svgs(text)
    assert len(svgs) == len(parse(text).root.all("svg"))
    for svg in svgs:
        assert svg.tag == "svg"  # no namespace: inline SVG in HTML needs none
        assert not svg.findall(".//script") and not svg.findall(".//foreignObject")


def test_a_figure_s_bars_and_table_hold_its_numbers(results, page):
    cold = results["cold_start"]
    svg = _chart_labelled(page, "cold start: import app + first registration:")

    def ms(value: float) -> str:
        return f"{value * 1000:.1f}"

    figure, floor = cold["figure"], cold["floor"]
    assert _cells(_table_after(page, svg)) == {
        "figure": [ms(figure["median"]), ms(figure["min"]), ms(figure["max"])],
        "floor": [ms(floor["median"]), ms(floor["min"]), ms(floor["max"])],
        "ratio, figure / floor": [f"{cold['ratio']:.2f}"],
    }
    drawn = [t.string() for t in svg.all("text")]
    assert f"{ms(figure['median'])} ms [{ms(figure['min'])}–{ms(figure['max'])}]" in drawn
    assert f"{ms(floor['median'])} ms [{ms(floor['min'])}–{ms(floor['max'])}]" in drawn
    assert f"ratio {cold['ratio']:.2f}" in drawn
    bars = [rect for rect in svg.all("rect")]
    assert len(bars) == 2
    widths = [float(rect.attrs["width"]) for rect in bars]
    assert widths[0] / widths[1] == pytest.approx(figure["median"] / floor["median"], rel=0.01)


def test_a_figure_without_a_floor_has_no_ratio(results, page):
    fanout = results["campaign_fanout"]["10000"]
    svg = _chart_labelled(page, "campaign fan-out, 10,000 recipients:")
    assert len(svg.all("rect")) == 1
    assert _cells(_table_after(page, svg)) == {"figure": [f"{fanout['seconds']:.1f}"]}
    assert "no floor" in svg.attrs["aria-label"]


def test_the_latency_charts_hold_every_percentile_of_each_load_and_its_floor(results, page):
    for key, title in (
        ("registrations", "HTTP registrations"),
        ("registrations_pump_paused", "HTTP registrations, pump paused"),
        ("join_clicks", "HTTP join clicks, pump paused"),
    ):
        row = results["http_load"][key]
        figure, floor = row["figure"], row["floor"]
        svg = _chart_labelled(page, f"{title}: latency by percentile")
        lines = svg.all("polyline")
        assert [len(line.attrs["points"].split()) for line in lines] == [101, 101]
        cells = _cells(_table_after(page, svg))
        assert list(cells) == [f"p{p}" for p in range(101)]
        for p, (shown, under) in enumerate(cells.values()):
            assert shown == f"{figure['percentiles'][p] * 1000:.2f}"
            assert under == f"{floor['percentiles'][p] * 1000:.2f}"
        label = svg.attrs["aria-label"]
        assert f"p50 {figure['p50'] * 1000:.2f} ms, p99 {figure['p99'] * 1000:.2f} ms" in label
        assert f"{figure['per_second']:.1f} requests a second" in label


def test_the_load_s_table_holds_its_throughput_and_errors(results, page):
    row = results["http_load"]["registrations"]
    figure, floor = row["figure"], row["floor"]
    tables = {t.all("caption")[0].string(): t for t in page.root.all("table")}
    cells = _cells(tables["HTTP registrations: the load and its floor, from 50 clients"])
    assert cells["requests"] == ["2,000", "2,000"]  # 1,997 answered and 3 lost
    assert cells["requests a second"] == [
        f"{figure['per_second']:.1f}",
        f"{floor['per_second']:.1f}",
    ]
    assert cells["p99 (ms)"] == [f"{figure['p99'] * 1000:.2f}", f"{floor['p99'] * 1000:.2f}"]
    assert cells["error statuses"] == ["2", "0"]
    assert cells["connection errors"] == ["3", "0"]
    assert cells["statuses"] == ["201: 1,995, 503: 2", "201: 2,000"]


def test_the_page_stands_alone(results):
    text = render(results)
    tree = parse(text)
    (root,) = tree.root.all("html")
    assert root.attrs["lang"] == "en"
    assert tree.root.all("title")[0].string() == "Majlis benchmarks"
    assert len(tree.root.all("h1")) == 1
    assert not tree.root.all("script")
    assert not tree.root.all("link") and not tree.root.all("img")
    for reference in ("<script", "http://", "https://", "src=", "@import", "url(", "//cdn"):
        assert reference not in text.lower()


def test_a_load_keeps_the_latency_at_every_percentile():
    latencies = _latencies(0.1, 500, seed=6)
    summary = Load(seconds=1.0, latencies=latencies, statuses=Counter({200: 500})).summary()
    kept = summary["percentiles"]
    assert len(kept) == 101
    assert kept == sorted(kept)
    assert (kept[0], kept[50], kept[99], kept[100]) == (
        min(latencies),
        summary["p50"],
        summary["p99"],
        max(latencies),
    )
    assert set(summary) >= {"p50", "p99", "min", "max", "per_second", "error_statuses"}


def test_a_run_that_kept_summary_percentiles_alone_still_draws_them():
    older = json.loads(FIXTURE.read_text(encoding="utf-8"))["http_load"]
    for row in older.values():
        for summary in (row.get("figure", {}), row.get("floor", {})):
            summary.pop("percentiles", None)
    tree = parse(render({"http_load": older}))
    figure = older["join_clicks"]["figure"]
    svg = _chart_labelled(tree, "HTTP join clicks, pump paused: latency by percentile")
    assert [len(line.attrs["points"].split()) for line in svg.all("polyline")] == [4, 4]
    cells = _cells(_table_after(tree, svg))
    assert {p: shown for p, (shown, _) in cells.items()} == {
        "p0": f"{figure['min'] * 1000:.2f}",
        "p50": f"{figure['p50'] * 1000:.2f}",
        "p99": f"{figure['p99'] * 1000:.2f}",
        "p100": f"{figure['max'] * 1000:.2f}",
    }


def test_partial_results_show_what_is_there(results):
    partial = {
        "measured_at": {"cold_start": results["measured_at"]["cold_start"]},
        "cold_start": results["cold_start"],
    }
    tree = parse(render(partial))
    assert [s.attrs["id"] for s in tree.root.all("section")] == ["cold_start"]
    headings = [h.string() for h in tree.root.all("h3")]
    assert len(headings) == 3 and all(h.startswith("cold start") for h in headings)
    assert len(tree.root.all("svg")) == 3
    assert "Not in these results" in tree.root.string()
    assert "http_load" in tree.root.string()
    assert [a.attrs["href"] for a in tree.root.all("a")] == ["#cold_start"]


def test_no_results_at_all_is_a_page_too():
    tree = parse(render({}))
    assert not tree.root.all("section") and not tree.root.all("svg")
    assert "No results yet" in tree.root.string()


def test_a_section_kept_from_an_older_shape_is_named_not_drawn(results):
    tree = parse(
        render({"zoom": {"single": {"seconds": 1.0}}, "cold_start": results["cold_start"]})
    )
    zoom, cold = (tree.root.all("section")[i] for i in (1, 0))
    assert 'SECTIONS="zoom"' in zoom.string() and not zoom.all("svg")
    assert len(cold.all("svg")) == 3


def test_text_from_the_results_is_escaped(results):
    hostile = copy.deepcopy(results)
    hostile["cold_start"]["floor"]["what"] = '<script>alert("x")</script> & co'
    hostile["http_load"]["join_clicks"]["figure"]["what"] = '"><img src=x>'
    text = render(hostile)
    assert "<script" not in text and "<img" not in text
    tree = parse(text)
    assert 'floor: <script>alert("x")</script> & co' in tree.root.string()
    assert any('"><img src=x>' in svg.attrs["aria-label"] for svg in tree.root.all("svg"))
    _svgs(text)  # still well-formed XML


def test_the_page_is_written_to_the_path_given(results, tmp_path):
    path = tmp_path / "report.html"
    assert write(results, path) == path
    assert path.read_text(encoding="utf-8") == render(results)


def test_make_bench_writes_the_page_beside_the_results(results, tmp_path, monkeypatch, capsys):
    (tmp_path / "bench").mkdir()
    monkeypatch.setattr(bench_main, "ROOT", tmp_path)
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path / "bench" / "results.json")
    monkeypatch.setattr(bench_main, "REPORT", tmp_path / "bench" / "report.html")
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in QUIET:
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setitem(SECTIONS, "cold_start", (lambda: results["cold_start"], _show_cold_start))
    kept = {"measured_at": {"zoom": "2026-01-01T00:00:00+00:00"}, "zoom": results["zoom"]}
    (tmp_path / "bench" / "results.json").write_text(json.dumps(kept), encoding="utf-8")

    assert bench_main.main(["cold_start"]) == 0

    assert "written to bench/results.json and bench/report.html" in capsys.readouterr().out
    written = json.loads((tmp_path / "bench" / "results.json").read_text(encoding="utf-8"))
    page = (tmp_path / "bench" / "report.html").read_text(encoding="utf-8")
    assert page == render(written)
    assert [s.attrs["id"] for s in parse(page).root.all("section")] == ["cold_start", "zoom"]


@pytest.mark.parametrize(
    ("row", "printed"),
    [
        (
            Row(
                "cold start: import app + first registration",
                0.4487,
                "ms",
                0.3785,
                0.5176,
                0.245,
                ratio=1.8314,
                note="import app 185 ms",
            ),
            "cold start: import app + first registration    448.7ms       378.5–517.6  ms"
            "   245.0ms    1.83   import app 185 ms",
        ),
        (
            Row(
                "email CPU, ar (8 sessions)",
                0.00321,
                "ms",
                0.00298,
                0.0071,
                0.00061,
                ratio=5.26,
                decimals=2,
            ),
            "email CPU, ar (8 sessions)                      3.21ms        2.98–7.10   ms"
            "    0.61ms    5.26",
        ),
        (
            Row(
                "Zoom sync, 150 to a webinar, one at a time",
                5.61,
                "s",
                floor=5.0,
                ratio=1.122,
                note="1 token",
            ),
            "Zoom sync, 150 to a webinar, one at a time       5.6s                          5.0s"
            "    1.12   1 token",
        ),
        (
            Row(
                "send pacing at MaxSendRate 14/s",
                13.8,
                "/s",
                floor=14.0,
                ratio=0.9857,
                note="280 sent",
            ),
            "send pacing at MaxSendRate 14/s                 13.8/s                        14.0/s"
            "    0.99   280 sent",
        ),
        (
            Row("campaign fan-out, 10,000 recipients", 41.23, "s", note="peak 12.3 MiB"),
            "campaign fan-out, 10,000 recipients             41.2s   peak 12.3 MiB",
        ),
        (
            Row("DynamoDB calls per registrant synced, single", 2.0, "", note="(GetItem 1.00)"),
            "DynamoDB calls per registrant synced, single      2.00   (GetItem 1.00)",
        ),
    ],
)
def test_the_terminal_table_prints_a_row_as_before(row, printed):
    assert _line(row) == printed


def test_the_backlog_says_when_the_last_email_was_in_the_outbox():
    from bench.report import _all_sent

    measured = {"all_sent_after_seconds": 95.4, "emails_owed": 2000}
    assert _all_sent(measured) == "the last in the outbox 95 s after they ended"
    unfinished = {
        "all_sent_after_seconds": None,
        "emails_when_watch_ended": 1500,
        "emails_owed": 2000,
        "watched_seconds": 180.0,
    }
    assert _all_sent(unfinished) == "1500 of 2000 after 180 s"
    older = {"projected_seconds_to_send_all": 73.0}  # results written before the watch
    assert _all_sent(older).startswith("all in ")


def test_the_console_s_rows_name_their_calls_and_the_page_weight(results):
    console = results["console"]
    lines = ROWS["console"](console)
    rows = [line for line in lines if isinstance(line, Row)]
    assert [row.title for row in rows][:2] == [
        "console overview page (HTML)",
        "console overview.json",
    ]
    overview = rows[0]
    assert overview.ratio == console["overview"]["ratio"]
    assert overview.floor == console["floor"]["median"]
    assert "DynamoDB calls: " + ", ".join(console["overview"]["dynamodb_calls"]) in overview.note
    notes = [line for line in lines if isinstance(line, str)]
    total = console["weight"]["overview_total"]
    assert any(f"{total['raw'] / 1000:.1f} kB" in note for note in notes)
    assert any("moto reads every item" in note for note in notes)  # the deep page's cost
