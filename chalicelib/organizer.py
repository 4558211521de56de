"""Majlis's command line for organisers, over the HTTP API: ``python -m chalicelib.organizer``.

It needs only Python (the standard library; PyYAML for YAML files) and an organizer
token: ``MAJLIS_TOKEN``, else ``--token-file`` (default ``.local/organizer-token``, the
one ``make run`` writes). ``MAJLIS_URL`` (or ``--url``) is the API, by default local
mode's. Every answer that is not a success is printed as the API's problem document,
and the command exits with 1.

    event put demo event.yaml
    registrations list demo --status registered --language ur
    export demo registrations.csv --language ur
    campaign create demo day2.yaml --dry-run
    campaign create demo day2.yaml --watch
    campaign watch demo <campaign id>
    campaign cancel demo <campaign id>
    stats demo
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TextIO

FILTERS = ("status", "language", "country", "session")


class ApiError(Exception):
    def __init__(self, status: int, document: dict[str, Any]) -> None:
        super().__init__(document.get("detail") or document.get("title") or str(status))
        self.status = status
        self.document = document


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> Any:
        target = self.url + path
        if query:
            target += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(target, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                document = json.loads(raw)
            except ValueError:
                document = {"status": error.code, "detail": raw.decode(errors="replace")}
            raise ApiError(error.code, document) from None
        return json.loads(raw) if raw else None


def _read_document(path: str) -> Any:
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


def _filters(args: argparse.Namespace) -> dict[str, str]:
    return {name: ",".join(getattr(args, name) or []) for name in FILTERS}


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = width if total <= 0 else min(width, width * done // total)
    return "[" + "#" * filled + "-" * (width - filled) + f"] {done}/{total}"


def watch(api: Api, event_id: str, campaign_id: str, out: TextIO, every: float = 1.0) -> dict:
    """Show a campaign's progress until it is done, cancelled or failed."""
    while True:
        answer = api.call("GET", f"/events/{event_id}/campaigns/{campaign_id}")
        counts = answer["counts"]
        finished = counts["sent"] + counts["failed"] + counts["suppressed"]
        line = (
            f"\r{answer['status']:<10} {_bar(finished, counts['recipients'])}"
            f"  sent {counts['sent']}, failed {counts['failed']},"
            f" suppressed {counts['suppressed']}"
        )
        if answer.get("reason"):
            line += f"  ({answer['reason']})"
        out.write(line)
        out.flush()
        if answer["status"] in ("done", "cancelled", "failed"):
            out.write("\n")
            return answer
        time.sleep(every)


def download_export(api: Api, event_id: str, target: str, filters: dict, every: float) -> int:
    started = api.call("POST", f"/events/{event_id}/exports", query=filters)
    while True:
        answer = api.call("GET", f"/events/{event_id}/exports/{started['export_id']}")
        if answer["status"] == "done":
            break
        if answer["status"] == "failed":
            raise ApiError(500, {"detail": answer.get("reason", "the export failed")})
        time.sleep(every)
    with urllib.request.urlopen(answer["url"], timeout=300) as response:  # noqa: S310
        Path(target).write_bytes(response.read())
    return int(answer["rows"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.organizer")
    parser.add_argument("--url", default=os.environ.get("MAJLIS_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token-file", default=".local/organizer-token")
    commands = parser.add_subparsers(dest="command", required=True)

    event = commands.add_parser("event", help="create or replace an event")
    event.add_argument("action", choices=["put"])
    event.add_argument("event_id")
    event.add_argument("file", help="the event body, JSON or YAML (API.md)")

    def with_filters(command: argparse.ArgumentParser) -> None:
        for name in FILTERS:
            command.add_argument(f"--{name}", action="append", help="repeatable")

    registrations = commands.add_parser("registrations", help="list registrations (JSON lines)")
    registrations.add_argument("action", choices=["list"])
    registrations.add_argument("event_id")
    with_filters(registrations)

    export = commands.add_parser("export", help="download registrations as CSV")
    export.add_argument("event_id")
    export.add_argument("file", help="where to write the CSV")
    with_filters(export)

    campaign = commands.add_parser("campaign", help="announcements")
    campaign.add_argument("action", choices=["create", "watch", "cancel"])
    campaign.add_argument("event_id")
    campaign.add_argument("target", help="create: the campaign file; else its id")
    campaign.add_argument("--dry-run", action="store_true")
    campaign.add_argument("--send-at", help="ISO 8601 time to send at")
    campaign.add_argument("--watch", action="store_true", help="follow it until done")

    stats = commands.add_parser("stats", help="the event's counts")
    stats.add_argument("event_id")
    return parser


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, every: float = 1.0) -> int:
    args = _parser().parse_args(argv)
    token = os.environ.get("MAJLIS_TOKEN") or Path(args.token_file).read_text().strip()
    api = Api(args.url, token)
    try:
        if args.command == "event":
            answer = api.call("PUT", f"/events/{args.event_id}", _read_document(args.file))
            for warning in answer.get("warnings", []):
                out.write(f"warning: {warning}\n")
            out.write(f"event {args.event_id} saved\n")
        elif args.command == "registrations":
            query = {**_filters(args), "limit": "500"}
            while True:
                page = api.call("GET", f"/events/{args.event_id}/registrations", query=query)
                for item in page["items"]:
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
                if not page["next"]:
                    break
                query["cursor"] = page["next"]
        elif args.command == "export":
            rows = download_export(api, args.event_id, args.file, _filters(args), every)
            out.write(f"{rows} registrations written to {args.file}\n")
        elif args.command == "campaign":
            path = f"/events/{args.event_id}/campaigns"
            if args.action == "create":
                body = _read_document(args.target)
                body["dry_run"] = args.dry_run
                if args.send_at:
                    body["send_at"] = args.send_at
                answer = api.call("POST", path, body)
                out.write(json.dumps(answer, ensure_ascii=False) + "\n")
                if args.watch and not args.dry_run:
                    watch(api, args.event_id, answer["campaign_id"], out, every)
            elif args.action == "watch":
                watch(api, args.event_id, args.target, out, every)
            else:
                answer = api.call("POST", f"{path}/{args.target}/cancel")
                out.write(f"campaign {args.target}: {answer['status']}\n")
        else:
            answer = api.call("GET", f"/events/{args.event_id}/stats")
            out.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
    except ApiError as error:
        out.write(json.dumps(error.document, ensure_ascii=False, indent=2) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
