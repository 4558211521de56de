"""The terminal table: one line per figure, its median and min–max, its floor's
median and their ratio, with notes beneath. Each section's lines come from its
``_rows_*`` (in ``ROWS``, by section name), which bench/html_report.py draws as well;
its ``_show_*`` prints them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

MS = 1000.0

# What a unit's figures are multiplied by to be shown in it: "ms" and "µs" are of
# seconds; "s" and "/s" are shown as they are, as is a count (no unit).
SCALES = {"ms": MS, "µs": 1e6, "s": 1.0, "/s": 1.0, "": 1.0}


@dataclass(frozen=True)
class Row:
    """One figure: its median (and min–max when it has repeated samples), its floor (and
    the floor's min–max when known) and their ratio, in ``unit`` (see ``SCALES``); and a
    note. A figure without a floor has no ratio."""

    title: str
    median: float
    unit: str
    low: float | None = None
    high: float | None = None
    floor: float | None = None
    floor_low: float | None = None
    floor_high: float | None = None
    ratio: float | None = None
    note: str = ""
    decimals: int = 1


# A section's lines: its rows, and the notes printed beneath them (strings).
Lines = list[Row | str]


def _row(
    title: str,
    figure: dict[str, Any],
    floor: float,
    ratio: float,
    note: str = "",
    spread: dict[str, Any] | None = None,
) -> Row:
    """A figure's median and min–max, the floor's median (``spread``: its min–max), the
    ratio; in milliseconds."""
    return Row(
        title,
        figure["median"],
        "ms",
        figure["min"],
        figure["max"],
        floor,
        spread["min"] if spread else None,
        spread["max"] if spread else None,
        ratio,
        note,
    )


def _compared(title: str, part: dict[str, Any], unit: str, decimals: int = 1) -> Row:
    """The row of a result that holds its ``figure``, its ``floor`` (each a spread) and
    their ``ratio``."""
    figure, floor = part["figure"], part["floor"]
    return Row(
        title,
        figure["median"],
        unit,
        figure["min"],
        figure["max"],
        floor["median"],
        floor["min"],
        floor["max"],
        part["ratio"],
        decimals=decimals,
    )


def _line(row: Row) -> str:
    """The row as the terminal table prints it."""
    scale, unit, places = SCALES[row.unit], row.unit, row.decimals
    note = "   " + row.note if row.note else ""
    title = f"{row.title:<44}"
    if row.low is not None and row.high is not None and row.floor is not None:
        return (
            f"{title}{row.median * scale:>8.{places}f}{unit}"
            f"{row.low * scale:>12.{places}f}–{row.high * scale:<7.{places}f}{unit}"
            f"{row.floor * scale:>8.{places}f}{unit}{row.ratio:>8.2f}{note}"
        )
    if row.floor is not None:
        return (
            f"{title}{row.median * scale:>8.1f}{unit}{'':>{22 - len(unit)}}"
            f"{row.floor * scale:>8.1f}{unit}{row.ratio:>8.2f}{note}"
        )
    if unit:
        return f"{title}{row.median * scale:>8.1f}{unit}{note}"
    return f"{title}{row.median:>10.2f}{note}"


def _print(lines: Lines) -> None:
    for line in lines:
        print(_line(line) if isinstance(line, Row) else f"{'':<6}{line}")


def _rows_cold_start(cold: dict[str, Any]) -> Lines:
    source = cold["from_source"]
    edges = ", ".join(
        f"{e['module']} {e['seconds'] * MS:.0f} ms ({e['imported_by']})"
        for e in cold["imports"]["edges"][:8]
    )
    beyond = ", ".join(f"{p} {s * MS:.0f}" for p, s in cold["imports"]["beyond_floor"].items())
    return [
        _row(
            "cold start: import app + first registration",
            cold["figure"],
            cold["floor"]["median"],
            cold["ratio"],
            f"import app {cold['import_app']['median'] * MS:.0f} ms (floor's imports"
            f" {cold['floor_import']['median'] * MS:.0f}), first request"
            f" {cold['first_request']['median'] * MS:.0f} ms (floor's client"
            f" {cold['floor_clients']['median'] * MS:.0f};"
            f" {', '.join(cold['first_request_calls'])})",
            cold["floor"],
        ),
        _row(
            "cold start, all with bytecode (make package)",
            cold["precompiled"],
            cold["floor"]["median"],
            cold["ratio_precompiled"],
            "as deployed: the bundle carries its bytecode (infra/bytecode.py)",
            cold["floor"],
        ),
        _row(
            "cold start, no bytecode (chalice package alone)",
            source["figure"],
            source["floor"]["median"],
            source["ratio"],
            "floor and figure both compile every module they import, as on Lambda",
            source["floor"],
        ),
        f"imported by our code, not by the floor (importtime, ms): {edges}",
        f"own time of what the floor does not import, by package"
        f" ({cold['imports']['total_beyond_floor'] * MS:.0f} ms in all): {beyond}",
        f"floor: {cold['floor']['what']}",
    ]


def _rows_registration(reg: dict[str, Any]) -> Lines:
    lines: Lines = [
        _row(
            "POST registration, " + name,
            reg[name],
            reg["floor"]["median"],
            reg[name]["ratio"],
            f"AWS calls: {', '.join(reg[name]['aws_calls']) or 'none'}",
            reg["floor"],
        )
        for name in ("new", "duplicate", "waitlisted")
    ]
    lines.append(f"floor: {reg['floor']['what']}")
    same = reg.get("floor_same_items")
    if same:
        lines.append(
            f"{same['what']}: {same['median'] * MS:.1f} ms; a new registration is"
            f" {same['ratio_new']:.2f}× that (the rest is the handler's own work)"
        )
    return lines


def _rows_join_click(join: dict[str, Any]) -> Lines:
    check, click = join["link_check"], join["click"]
    calls = ", ".join(f"{op} {n}" for op, n in click["calls"].items())
    return [
        _compared("join link signature check (CPU)", check, "µs"),
        _row(
            "join click through the handler (moto)",
            click["figure"],
            click["floor"]["median"],
            click["ratio"],
            f"{click['calls_per_click']:.2f} AWS calls a click ({calls});"
            f" a new container's first: {', '.join(click['first_click_calls'])};"
            f" its UpdateItem alone {click['same_call']['median'] * MS:.1f} ms",
            click["floor"],
        ),
        f"floors: {check['floor']['what']}; {click['floor']['what']}",
    ]


# The HTTP loads, by their key in http_load's results, and their titles.
HTTP_LOADS = (
    ("registrations", "HTTP registrations"),
    ("registrations_pump_paused", "HTTP registrations, pump paused"),
    ("join_clicks", "HTTP join clicks, pump paused"),
)


def _rows_http_load(load: dict[str, Any]) -> Lines:
    lines: Lines = []
    for name, title in HTTP_LOADS:
        row = load[name]
        figure, floor = row["figure"], row["floor"]
        lines.append(
            _row(
                f"{title}, p50",
                {"median": figure["p50"], "min": figure["min"], "max": figure["max"]},
                floor["p50"],
                row["ratio"],
                f"{figure['requests']:,} from {row['clients']} clients; p99"
                f" {figure['p99'] * MS:.0f} ms (floor {floor['p99'] * MS:.0f});"
                f" {figure['per_second']:.0f}/s (floor {floor['per_second']:.0f}/s,"
                f" {row['throughput_ratio']:.2f}×); error statuses {figure['error_statuses']},"
                f" connection errors"
                f" {sum(figure['connection_errors'].values())}",
                floor,
            )
        )
    backlog = load["backlog"]
    during = backlog["during_registrations"]
    return [
        *lines,
        f"pump backlog: {backlog['emails_when_registrations_ended']} of"
        f" {backlog['emails_owed']} emails sent when the registrations ended,"
        f" {backlog['emails_after_window']} after {backlog['window_seconds']:.0f} s more"
        f" ({backlog['emails_per_second']:.1f}/s; {_all_sent(backlog)}); queues then"
        f" {_nonzero(backlog['queues_after_window'])}; dead letters"
        f" {sum(backlog['dead_letters'].values())};"
        f" server: {_failures(backlog['server_failures'])}",
        f"while the registrations ran: {during['pump_invocations']} pump invocations,"
        f" {during['webhooks']} Zoom webhooks posted to the API;"
        f" pausing took {backlog['pause_seconds']:.1f} s (handlers running to their end)",
        f"floors: {load['registrations']['floor']['what']}",
    ]


def _all_sent(backlog: dict[str, Any]) -> str:
    """When the last email owed was in the outbox, as measured (older results: as
    projected from the pace)."""
    if "all_sent_after_seconds" not in backlog:
        return f"all in {_seconds(backlog['projected_seconds_to_send_all'])} at that pace"
    if backlog["all_sent_after_seconds"] is None:
        return (
            f"{backlog['emails_when_watch_ended']} of {backlog['emails_owed']} after"
            f" {backlog['watched_seconds']:.0f} s"
        )
    return f"the last in the outbox {backlog['all_sent_after_seconds']:.0f} s after they ended"


def _failures(failures: dict[str, Any]) -> str:
    raised = ", ".join(f"{n} {name}" for name, n in failures["tracebacks"].items())
    by_client = ", ".join(f"{n} {who}" for who, n in failures["requests_failed_by_client"].items())
    return (
        f"{failures['error_lines']} error logs; tracebacks: {raised or 'none'};"
        f" requests failed by client: {by_client}"
    )


def _nonzero(depths: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in depths.items() if n) or "empty"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _rows_email_cpu(rows: dict[str, Any]) -> Lines:
    lines: Lines = [
        Row(
            "email CPU, " + language + " (8 sessions)",
            row["figure"]["median"],
            "ms",
            row["figure"]["min"],
            row["figure"]["max"],
            row["floor"]["median"],
            row["floor"]["min"],
            row["floor"]["max"],
            row["ratio"],
            decimals=2,
        )
        for language, row in rows.items()
    ]
    lines.append("floor: a Jinja2 template, a Babel date per session, an EmailMessage (naive)")
    return lines


def _rows_zoom(rows: dict[str, Any]) -> Lines:
    lines: Lines = []
    for name, label in (("single", "one at a time"), ("batched", "an import")):
        row = rows[name]
        lines.append(
            Row(
                f"Zoom sync, {row['registrants']} to a webinar, {label}",
                row["seconds"],
                "s",
                floor=row["floor_seconds"],
                ratio=row["ratio"],
                note=f"{row['calls_per_registrant']:.3f} calls/registrant, {row['tokens']} token,"
                f" {row['duplicates']} duplicates, max {row['most_adds_for_one_registrant']} adds"
                f" per registrant; {row['states']}",
            )
        )
    if "rooms" in rows:
        row = rows["rooms"]
        lines.append(
            Row(
                f"Zoom sync, {row['registrants']} seated in rooms of 4,999 and 1,000",
                row["seconds"],
                "s",
                floor=row["floor_seconds"],
                ratio=row["ratio"],
                note=f"{row['calls_per_registrant']:.3f} calls/registrant; seated {row['seated']}"
                f" in {row['seating_seconds']:.2f} s; in Zoom {row['zoom_registrants']}",
            )
        )
    lines.append("floor: what the Pro plan's per-second limits allow (30 light, 10 heavy calls/s)")
    return lines


def _rows_zoom_table(rows: dict[str, Any]) -> Lines:
    return [
        Row(
            f"DynamoDB calls per registrant synced, {name}",
            row["total_per_registrant"],
            "",
            note="(" + ", ".join(f"{op} {n:.2f}" for op, n in row["per_registrant"].items()) + ")",
        )
        for name, row in rows.items()
    ]


def _rows_campaign_fanout(rows: dict[str, Any]) -> Lines:
    return [
        Row(
            f"campaign fan-out, {int(size):,} recipients",
            row["seconds"],
            "s",
            note=f"peak {row['peak_mib']:.1f} MiB, {row['steps']} steps,"
            f" {row['calls_per_recipient']:.4f} calls/recipient"
            f" ({', '.join(f'{op} {n:.4f}' for op, n in row['per_recipient'].items())};"
            f" {row['where']})",
        )
        for size, row in rows.items()
    ]


def _rows_campaign_sending(row: dict[str, Any]) -> Lines:
    counts = ", ".join(f"{op} {n:.3f}" for op, n in row["per_recipient"].items())
    return [
        Row(
            "campaign sending, calls per recipient",
            row["calls_per_recipient"],
            "",
            note=f"({counts})",
        )
    ]


def _rows_send_pacing(rows: dict[str, Any]) -> Lines:
    return [
        Row(
            f"send pacing at MaxSendRate {rate}/s",
            row["achieved_per_second"],
            "/s",
            floor=float(rate),
            ratio=row["fraction"],
            note=f"{row['sent']} sent by {row['workers']} workers, {row['throttled']} throttled;"
            f" turns alone: {row['turns_only']['fraction']:.2f} of the rate,"
            f" {row['turns_only']['throttled']} throttled",
        )
        for rate, row in rows.items()
    ]


def _rows_programme_change(row: dict[str, Any]) -> Lines:
    return [
        Row(
            "programme change: PUT to last change email",
            row["seconds"],
            "s",
            floor=row["floor_seconds"],
            ratio=row["ratio"],
            note=f"{row['sent']}/{row['people']} told; {row['calls_per_person']:.2f} AWS calls"
            f" a person; PUT answered in {row['put_seconds'] * 1000:.0f} ms",
        ),
        "floor: the people at local mode's send rate (SES's pace alone)",
    ]


def _rows_mail_priority(row: dict[str, Any]) -> Lines:
    return [
        _row(
            "confirmation during a 10,000-person campaign",
            row["figure"],
            row["floor"]["median"],
            row["ratio"],
            f"{row['newcomers']} newcomers, p99 {row['p99'] * MS:.0f} ms (each given its"
            f" turn at most {row.get('max_turn_wait', 0) * MS:.0f} ms after asking),"
            f" {row['confirmed_before_the_end']} sent before the campaign ended; campaign"
            f" {row['campaign_seconds']:.1f} s for {row['announced']} at {row['rate']}/s"
            f" ({row['announced'] / max(row['campaign_seconds'], 1e-9):.0f}/s),"
            f" {row['workers']} workers; {row['throttled']} throttled, busiest second"
            f" {row.get('max_turns_per_second', '?')} turns, {row['max_per_second']} sent",
            row["floor"],
        ),
        "floor: the same confirmations with nothing else sending",
    ]


# Every section's lines, by its name in bench/sections.py.
def _rows_challenge(result: dict[str, Any]) -> Lines:
    path = result["request_path"]
    check, make = path["check"], path["make"]
    lines: Lines = [
        _compared("ALTCHA: check a solution (CPU)", check, "µs"),
        _compared("ALTCHA: make a challenge (CPU)", make, "ms", decimals=2),
        f"check floor: {check['floor']['what']}; AWS calls: {check['aws_calls']}",
        f"make floor: {make['floor']['what']}",
    ]
    person = result["person"]
    if "skipped" in person:
        lines.append(f"a person's solve: skipped ({person['skipped']})")
        return lines
    figure, wall = person["figure"], person["focus_to_tick"]
    lines += [
        _compared("ALTCHA: a person's solve (headless Chromium)", person, "s", decimals=2),
        f"floor: {person['floor']['what']}; work: {path['work']['counter']} derivations"
        f" of {path['work']['cost']} PBKDF2 iterations (drawn ±50 %), {figure['n']} pages;"
        f" from the first focus to the tick: {wall['median']:.2f} s median"
        f" [{wall['min']:.2f}–{wall['max']:.2f}] (fetch, work, the widget's 0.5 s minimum)",
    ]
    return lines


# The console's pages, by their key in console's results, and their titles.
CONSOLE_PAGES = (
    ("overview", "console overview page (HTML)"),
    ("overview_json", "console overview.json"),
    ("registrants", "console registrants, first page"),
    ("registrants_deep", "console registrants, page after 45,000"),
    ("registrant", "console: a registrant's page"),
)


def _kb(n: int) -> str:
    return f"{n / 1000:.1f} kB"


def _weighed(weight: dict[str, int]) -> str:
    return f"{_kb(weight['raw'])} ({_kb(weight['gzip'])} gzip)"


def _rows_console(result: dict[str, Any]) -> Lines:
    floor = result["floor"]
    lines: Lines = []
    for name, title in CONSOLE_PAGES:
        part = result[name]
        kind = "JSON" if name == "overview_json" else "HTML"
        note = (
            f"DynamoDB calls: {', '.join(part['dynamodb_calls']) or 'none'};"
            f" {kind} {_weighed(part['bytes'])}"
        )
        if "rows" in part:
            note += f"; {part['rows']} rows"
        row = _row(title, part, floor["median"], part["ratio"], note, floor)
        lines.append(replace(row, decimals=2))  # the floor is a fraction of a millisecond
    weight = result["weight"]
    assets = ", ".join(
        f"{name} {_kb(w['raw'])}/{_kb(w['gzip'])}" for name, w in weight["overview_assets"].items()
    )
    bare = result["bare_query"]
    seeding = result["seeding"]
    kinds = seeding["counters_by_kind"]
    lines += [
        f"floor: {floor['what']} (DynamoDB calls: {len(floor['dynamodb_calls'])})",
        f"page weight: the overview {_weighed(result['overview']['bytes'])} and the"
        f" {len(weight['overview_assets'])} assets it loads"
        f" {_weighed(weight['assets_total'])} ({assets}, raw/gzip):"
        f" {_weighed(weight['overview_total'])} in all",
        f"{bare['what']}: {bare['first']['median'] * MS:.0f} ms first,"
        f" {bare['deep']['median'] * MS:.0f} ms after 45,000; the pages are"
        f" {result['registrants']['ratio_bare_query']:.2f}×,"
        f" {result['registrants_deep']['ratio_bare_query']:.2f}× that: moto reads every"
        " item of the index for a Query (its cost), DynamoDB the page alone",
        f"seeding (a note): {seeding['registrations']:,} registrations in"
        f" {seeding['batch_writes']:,} BatchWriteItem, {seeding['write_seconds']:.1f} s"
        f" (items built in {seeding['build_seconds']:.1f} s); {seeding['counters']:,}"
        f" counters ({', '.join(f'{n:,} {kind}' for kind, n in kinds.items())}) in"
        f" {seeding['counter_calls']} calls, {seeding['counter_seconds']:.1f} s;"
        f" the section {result['seconds']:.0f} s",
    ]
    return lines


ROWS: dict[str, Callable[[Any], Lines]] = {
    "cold_start": _rows_cold_start,
    "registration": _rows_registration,
    "join_click": _rows_join_click,
    "email_cpu": _rows_email_cpu,
    "zoom": _rows_zoom,
    "zoom_table": _rows_zoom_table,
    "campaign_fanout": _rows_campaign_fanout,
    "campaign_sending": _rows_campaign_sending,
    "send_pacing": _rows_send_pacing,
    "mail_priority": _rows_mail_priority,
    "http_load": _rows_http_load,
    "programme_change": _rows_programme_change,
    "challenge": _rows_challenge,
    "console": _rows_console,
}


def _show_cold_start(cold: dict[str, Any]) -> None:
    _print(_rows_cold_start(cold))


def _show_challenge(result: dict[str, Any]) -> None:
    _print(_rows_challenge(result))


def _show_console(result: dict[str, Any]) -> None:
    _print(_rows_console(result))


def _show_registration(reg: dict[str, Any]) -> None:
    _print(_rows_registration(reg))


def _show_join_click(join: dict[str, Any]) -> None:
    _print(_rows_join_click(join))


def _show_http_load(load: dict[str, Any]) -> None:
    _print(_rows_http_load(load))


def _show_email_cpu(rows: dict[str, Any]) -> None:
    _print(_rows_email_cpu(rows))


def _show_zoom(rows: dict[str, Any]) -> None:
    _print(_rows_zoom(rows))


def _show_zoom_table(rows: dict[str, Any]) -> None:
    _print(_rows_zoom_table(rows))


def _show_campaign_fanout(rows: dict[str, Any]) -> None:
    _print(_rows_campaign_fanout(rows))


def _show_campaign_sending(row: dict[str, Any]) -> None:
    _print(_rows_campaign_sending(row))


def _show_send_pacing(rows: dict[str, Any]) -> None:
    _print(_rows_send_pacing(rows))


def _show_programme_change(row: dict[str, Any]) -> None:
    _print(_rows_programme_change(row))


def _show_mail_priority(row: dict[str, Any]) -> None:
    _print(_rows_mail_priority(row))
