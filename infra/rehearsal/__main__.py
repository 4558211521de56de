"""``python -m infra.rehearsal``: the dress rehearsal (``make rehearse``).

Plays the reference conference with ``--people`` registrants on the packaged prod
stage (``--build``, from ``make package STAGE=prod``), prints the audit and the cost
of the reference day, writes them to ``build/rehearsal.json``, and exits 1 when the
audit found anything wrong. ``--drop Role:service:Action`` takes one action out of
one role's policy first, to see the rehearsal name what then fails.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import shutil
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra import PROJECT_DIR
from infra.rehearsal import cost
from infra.rehearsal.audit import Audit, write
from infra.rehearsal.scenario import Conference
from infra.rehearsal.stage import Stage

REFERENCE_PEOPLE = cost.REFERENCE_PEOPLE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.rehearsal")
    parser.add_argument("--people", type=int, default=500, help="registrants (5000: reference)")
    parser.add_argument("--build", type=Path, default=PROJECT_DIR / "build" / "prod")
    parser.add_argument("--work", type=Path, default=PROJECT_DIR / "build" / "rehearsal")
    parser.add_argument("--report", type=Path, default=PROJECT_DIR / "build" / "rehearsal.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--drop", action="append", default=[], metavar="Role:service:Action")
    parser.add_argument("--stop-after", metavar="STEP", help="end the conference after a step")
    args = parser.parse_args(argv)
    if not (args.build / "sam.yaml").exists():
        parser.error(f"no packaged stage in {args.build}: run make package STAGE=prod first")
    if args.people < 20:
        parser.error("--people must be at least 20 (the crowd's mix needs a few of each)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: where each thread is
    report = rehearse(args.build, args.work, args.people, args.seed, args.drop, args.stop_after)
    print(summary(report))
    write(args.report, report)
    print(f"\nwritten to {args.report}")
    return 1 if report["failures"] else 0


def rehearse(
    build: Path, work: Path, people: int, seed: int, drop: list[str], stop_after: str | None = None
) -> dict[str, Any]:
    began = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stage = Stage(build, work, datetime.now(UTC), drop=drop)
    try:
        stage.start()
        conference = Conference(stage, people, seed)
        audit = Audit(conference, stage)
        audit.whole_conference = stop_after is None
        try:
            conference.play(stop_after)
        except Exception as error:  # noqa: BLE001 - the audit still says what happened
            audit.fail(f"the scenario stopped: {type(error).__name__}")
            traceback.print_exc()
        day = stage.usage()  # the conference's, before the audit's own requests
        audit.while_running()
        stage.stop()
        audit.after_stopping()
    finally:
        stage.close()
    wall = time.perf_counter() - began
    bill = day_cost(day, stage, people)
    return {
        "people": people,
        "seed": seed,
        "dropped": drop,
        "wall_seconds": round(wall, 1),
        "simulated_days": round((wall + stage.clock.jumped) / 86_400, 2),
        "timings": {k: round(v, 2) for k, v in stage.timings.items()} | {"audit": audit.seconds},
        "steps": conference.steps,
        **audit.figures,
        "functions": {
            name: {
                "invocations": pool.usage.invocations,
                "errors": pool.usage.errors,
                "cold_starts": pool.usage.cold_starts,
                "billed_ms": round(pool.usage.billed_ms),
                "init_ms_median": sorted(pool.usage.init_ms)[len(pool.usage.init_ms) // 2]
                if pool.usage.init_ms
                else None,
            }
            for name, pool in sorted(stage.pools.items())
        },
        "dynamodb_write_units": {
            f"{who} {table}": {"table": units.table, "indexes": units.indexes}
            for (who, table), units in sorted(day.writes.items())
        },
        "cost": {
            "people": REFERENCE_PEOPLE,
            "lines": [
                {"service": ln.service, "item": ln.item, "quantity": ln.quantity, "usd": ln.usd}
                for ln in bill
            ],
            "total_usd": round(cost.total(bill), 2),
            "table": cost.table(bill),
            "markdown": cost.markdown(bill),
        },
        "failures": audit.failures,
    }


def day_cost(day: Any, stage: Stage, people: int) -> list[cost.Line]:
    """The reference day's bill, scaled from the conference's own use (``day``, taken
    before the audit): the calls the functions made, but not the operator's (who stood
    the stack up and played SES) and not the pollers' receives (Lambda's polling is the
    bill's standing line, whatever the rehearsal's wall time). DynamoDB's writes are
    billed as measured, item by item (:mod:`infra.rehearsal.capacity`)."""
    calls = {
        key: totals
        for key, totals in day.calls.items()
        if key[0] != "operator" and key[2] != "ReceiveMessage"
    }
    functions = [
        cost.FunctionUse(name, use.invocations, use.billed_ms, stage.pools[name].function.memory_mb)
        for name, use in day.functions.items()
    ]
    usage = cost.usage_from_calls(
        calls,
        functions,
        people=people,
        api_requests=day.api_requests,
        writes={key: units for key, units in day.writes.items() if key[0] != "operator"},
        log_bytes=stage.log_bytes,
        standing=cost.standing_from_template(
            custom_metrics=custom_metrics(stage.work / "logs"),
            sqs_event_sources=sum(1 for m in stage.stack.mappings if ":sqs:" in m.source_arn),
            hours=24,
        ),
    )
    return cost.bill(cost.scaled(usage, REFERENCE_PEOPLE))


def custom_metrics(logs: Path) -> int:
    """The distinct metrics (namespace, name, dimensions) the functions' logs published in
    CloudWatch's embedded metric format: what CloudWatch bills a month each."""
    found = set()
    for path in logs.glob("*.log"):
        for line in path.read_text("utf-8", "replace").splitlines():
            if not line.startswith('{"_aws"'):
                continue
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                dimensions = tuple(
                    (name, str(document.get(name)))
                    for names in directive["Dimensions"]
                    for name in names
                )
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return len(found)


def summary(report: dict[str, Any]) -> str:
    emails = report.get("emails", {})
    iam = report.get("iam", {})
    rows = [
        ("people", report["people"]),
        ("wall time", f"{report['wall_seconds']} s"),
        ("simulated time", f"{report['simulated_days']} days"),
        ("emails owed / in the outbox", f"{emails.get('owed')} / {emails.get('in_outbox')}"),
        (
            "missing · duplicated · unexpected",
            f"{emails.get('missing')} · {emails.get('duplicated')} · {emails.get('unexpected')}",
        ),
        ("emails by kind", emails.get("by_kind")),
        ("links followed", report.get("links", {}).get("followed")),
        ("stats drift", len(report.get("stats", {}).get("drift", []))),
        ("IAM checks · denials", f"{iam.get('checks')} · {len(iam.get('denials', []))}"),
        ("addresses in logs", report.get("logs", {}).get("addresses_found")),
        ("HTTP requests", report.get("http", {}).get("requests")),
        ("AWS calls by service", report.get("calls", {}).get("by_service")),
        ("the reference day's bill", f"${report['cost']['total_usd']:.2f}"),
    ]
    width = max(len(str(k)) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines += ["", report["cost"]["table"]]
    unused = iam.get("unused_by_function") or {}
    if unused:
        lines += ["", "granted and never used:"]
        lines += [f"  {fn}: {', '.join(acts)}" for fn, acts in unused.items()]
    failures = report["failures"]
    lines += ["", f"{len(failures)} failure(s)"] + [f"  {f}" for f in failures[:50]]
    if len(failures) > 50:
        lines.append(f"  … and {len(failures) - 50} more (see the report)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
