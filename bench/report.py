"""The terminal table: one line per figure, its median and min–max, its floor's
median and their ratio, with notes beneath; one ``_show_*`` per section.
"""

from __future__ import annotations

from typing import Any

MS = 1000.0


def _row(title: str, figure: dict[str, Any], floor: float, ratio: float, note: str = "") -> None:
    """One line: the figure's median and min–max, the floor's median, their ratio."""
    print(
        f"{title:<44}{figure['median'] * MS:>8.1f}ms"
        f"{figure['min'] * MS:>12.1f}–{figure['max'] * MS:<7.1f}ms"
        f"{floor * MS:>8.1f}ms{ratio:>8.2f}{'   ' + note if note else ''}"
    )


def _show_cold_start(cold: dict[str, Any]) -> None:
    _row(
        "cold start: import app + first registration",
        cold["figure"],
        cold["floor"]["median"],
        cold["ratio"],
        f"import app {cold['import_app']['median'] * MS:.0f} ms (floor's imports"
        f" {cold['floor_import']['median'] * MS:.0f}), first request"
        f" {cold['first_request']['median'] * MS:.0f} ms (floor's client"
        f" {cold['floor_clients']['median'] * MS:.0f}; {', '.join(cold['first_request_calls'])})",
    )
    _row(
        "cold start, all with bytecode (make package)",
        cold["precompiled"],
        cold["floor"]["median"],
        cold["ratio_precompiled"],
        "as deployed: the bundle carries its bytecode (infra/bytecode.py)",
    )
    source = cold["from_source"]
    _row(
        "cold start, no bytecode (chalice package alone)",
        source["figure"],
        source["floor"]["median"],
        source["ratio"],
        "floor and figure both compile every module they import, as on Lambda",
    )
    edges = ", ".join(
        f"{e['module']} {e['seconds'] * MS:.0f} ms ({e['imported_by']})"
        for e in cold["imports"]["edges"][:8]
    )
    beyond = ", ".join(f"{p} {s * MS:.0f}" for p, s in cold["imports"]["beyond_floor"].items())
    print(f"{'':<6}imported by our code, not by the floor (importtime, ms): {edges}")
    print(
        f"{'':<6}own time of what the floor does not import, by package"
        f" ({cold['imports']['total_beyond_floor'] * MS:.0f} ms in all): {beyond}"
    )
    print(f"{'':<6}floor: {cold['floor']['what']}")


def _show_registration(reg: dict[str, Any]) -> None:
    for name in ("new", "duplicate", "waitlisted"):
        row = reg[name]
        _row(
            "POST registration, " + name,
            row,
            reg["floor"]["median"],
            row["ratio"],
            f"AWS calls: {', '.join(row['aws_calls']) or 'none'}",
        )
    print(f"{'':<6}floor: {reg['floor']['what']}")
    same = reg.get("floor_same_items")
    if same:
        print(
            f"{'':<6}{same['what']}: {same['median'] * MS:.1f} ms; a new registration is"
            f" {same['ratio_new']:.2f}× that (the rest is the handler's own work)"
        )


def _show_join_click(join: dict[str, Any]) -> None:
    check = join["link_check"]
    print(
        f"{'join link signature check (CPU)':<44}{check['figure']['median'] * 1e6:>8.1f}µs"
        f"{check['figure']['min'] * 1e6:>12.1f}–{check['figure']['max'] * 1e6:<7.1f}µs"
        f"{check['floor']['median'] * 1e6:>8.1f}µs{check['ratio']:>8.2f}"
    )
    click = join["click"]
    calls = ", ".join(f"{op} {n}" for op, n in click["calls"].items())
    _row(
        "join click through the handler (moto)",
        click["figure"],
        click["floor"]["median"],
        click["ratio"],
        f"{click['calls_per_click']:.2f} AWS calls a click ({calls});"
        f" a new container's first: {', '.join(click['first_click_calls'])};"
        f" its UpdateItem alone {click['same_call']['median'] * MS:.1f} ms",
    )
    print(f"{'':<6}floors: {check['floor']['what']}; {click['floor']['what']}")


def _show_http_load(load: dict[str, Any]) -> None:
    for name, title in (
        ("registrations", "HTTP registrations"),
        ("registrations_pump_paused", "HTTP registrations, pump paused"),
        ("join_clicks", "HTTP join clicks, pump paused"),
    ):
        row = load[name]
        figure, floor = row["figure"], row["floor"]
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
        )
    backlog = load["backlog"]
    print(
        f"{'':<6}pump backlog: {backlog['emails_when_registrations_ended']} of"
        f" {backlog['emails_owed']} emails sent when the registrations ended,"
        f" {backlog['emails_after_window']} after {backlog['window_seconds']:.0f} s more"
        f" ({backlog['emails_per_second']:.1f}/s; all in"
        f" {_seconds(backlog['projected_seconds_to_send_all'])} at that pace); queues then"
        f" {_nonzero(backlog['queues_after_window'])}; dead letters"
        f" {sum(backlog['dead_letters'].values())}; server: {_failures(backlog['server_failures'])}"
    )
    during = backlog["during_registrations"]
    print(
        f"{'':<6}while the registrations ran: {during['pump_invocations']} pump invocations,"
        f" {during['webhooks']} Zoom webhooks posted to the API;"
        f" pausing took {backlog['pause_seconds']:.1f} s (handlers running to their end)"
    )
    print(f"{'':<6}floors: {load['registrations']['floor']['what']}")


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


def _show_email_cpu(rows: dict[str, Any]) -> None:
    for language, row in rows.items():
        print(
            f"{'email CPU, ' + language + ' (8 sessions)':<44}"
            f"{row['figure']['median'] * MS:>8.2f}ms"
            f"{row['figure']['min'] * MS:>12.2f}–{row['figure']['max'] * MS:<7.2f}ms"
            f"{row['floor']['median'] * MS:>8.2f}ms{row['ratio']:>8.2f}"
        )
    print(f"{'':<6}floor: a Jinja2 template, a Babel date per session, an EmailMessage (naive)")


def _show_zoom(rows: dict[str, Any]) -> None:
    for name, label in (("single", "one at a time"), ("batched", "an import")):
        row = rows[name]
        title = f"Zoom sync, {row['registrants']} to a webinar, {label}"
        print(
            f"{title:<44}"
            f"{row['seconds']:>8.1f}s {'':>20}{row['floor_seconds']:>8.1f}s{row['ratio']:>8.2f}"
            f"   {row['calls_per_registrant']:.3f} calls/registrant, {row['tokens']} token,"
            f" {row['duplicates']} duplicates, max {row['most_adds_for_one_registrant']} adds"
            f" per registrant; {row['states']}"
        )
    print(f"{'':<6}floor: what the Pro plan's per-second limits allow (30 light, 10 heavy calls/s)")


def _show_zoom_table(rows: dict[str, Any]) -> None:
    for name, row in rows.items():
        counts = ", ".join(f"{op} {n:.2f}" for op, n in row["per_registrant"].items())
        print(
            f"{f'DynamoDB calls per registrant synced, {name}':<44}"
            f"{row['total_per_registrant']:>10.2f}   ({counts})"
        )


def _show_campaign_fanout(rows: dict[str, Any]) -> None:
    for size, row in rows.items():
        counts = ", ".join(f"{op} {n:.4f}" for op, n in row["per_recipient"].items())
        print(
            f"{f'campaign fan-out, {int(size):,} recipients':<44}{row['seconds']:>8.1f}s"
            f"   peak {row['peak_mib']:.1f} MiB, {row['steps']} steps,"
            f" {row['calls_per_recipient']:.4f} calls/recipient ({counts}; {row['where']})"
        )


def _show_campaign_sending(row: dict[str, Any]) -> None:
    counts = ", ".join(f"{op} {n:.3f}" for op, n in row["per_recipient"].items())
    print(
        f"{'campaign sending, calls per recipient':<44}{row['calls_per_recipient']:>10.2f}"
        f"   ({counts})"
    )


def _show_send_pacing(rows: dict[str, Any]) -> None:
    for rate, row in rows.items():
        print(
            f"{f'send pacing at MaxSendRate {rate}/s':<44}{row['achieved_per_second']:>8.1f}/s"
            f"{'':>20}{float(rate):>8.1f}/s{row['fraction']:>8.2f}"
            f"   {row['sent']} sent by {row['workers']} workers, {row['throttled']} throttled;"
            f" turns alone: {row['turns_only']['fraction']:.2f} of the rate,"
            f" {row['turns_only']['throttled']} throttled"
        )


def _show_programme_change(row: dict[str, Any]) -> None:
    print(
        f"{'programme change: PUT to last change email':<44}{row['seconds']:>8.1f}s"
        f"{'':>21}{row['floor_seconds']:>8.1f}s{row['ratio']:>8.2f}"
        f"   {row['sent']}/{row['people']} told; {row['calls_per_person']:.2f} AWS calls a person;"
        f" PUT answered in {row['put_seconds'] * 1000:.0f} ms"
    )
    print(f"{'':<6}floor: the people at local mode's send rate (SES's pace alone)")
