"""Majlis's command line for organisers, over the HTTP API: ``python -m chalicelib.organizer``.

It needs only Python (the standard library; PyYAML for YAML files) and an organizer
token: ``MAJLIS_TOKEN``, else ``--token-file`` (default ``.local/organizer-token``, the
one ``make run`` writes). ``--url``, else ``MAJLIS_URL``, is the API; by default local
mode's, at the address ``make run`` wrote to ``.local/address`` (else
http://127.0.0.1:8000). ``.local`` is ``MAJLIS_LOCAL_DIR`` when set, as for ``make run``.
Every answer that is not a success is printed as the API's problem document, and the
command exits with 1; so does a Majlis that cannot be reached (nothing listening, no
answer in time, an unknown host), said in one line on stderr.

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
import http.client
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TextIO

FILTERS = ("status", "language", "country", "session")
LOCAL_MODE_URL = "http://127.0.0.1:8000"
TIMEOUT = 60.0


class ApiError(Exception):
    def __init__(self, status: int, document: dict[str, Any]) -> None:
        super().__init__(document.get("detail") or document.get("title") or str(status))
        self.status = status
        self.document = document


class Failure(Exception):
    """What keeps a command from running, said in one line on stderr (exit code 1)."""


class Unreachable(Failure):
    """Majlis (or the export's storage) gave no answer at all."""


def local_dir() -> Path:
    return Path(os.environ.get("MAJLIS_LOCAL_DIR") or ".local")


def default_url() -> str:
    """``MAJLIS_URL``, else the address ``make run`` wrote, else local mode's default."""
    if os.environ.get("MAJLIS_URL"):
        return os.environ["MAJLIS_URL"]
    try:
        written = (local_dir() / "address").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        written = ""
    return written or LOCAL_MODE_URL


def _unreachable(url: str, error: BaseException, timeout: float) -> Unreachable:
    """One line for a failure to get an answer from ``url`` at all."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return Unreachable(f"Majlis is not answering at {url} (is make run running?)")
    if isinstance(reason, TimeoutError):
        return Unreachable(f"Majlis did not answer at {url} within {timeout:g} seconds")
    if isinstance(reason, socket.gaierror):
        host = urllib.parse.urlsplit(url).hostname
        return Unreachable(f"cannot find the host {host} of {url} (check --url or MAJLIS_URL)")
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return Unreachable(f"no answer from Majlis at {url}: {text}")


def _open(request: urllib.request.Request | str, shown: str, timeout: float) -> bytes:
    """The body of a successful answer; ``HTTPError`` for an error answer, else
    :class:`Unreachable` (``shown`` is the address named in its message)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError:
        raise
    except ValueError as error:  # not a URL urllib can open
        raise Failure(f"{shown} is not an http(s) URL ({error})") from None
    except (OSError, http.client.HTTPException) as error:
        raise _unreachable(shown, error, timeout) from None


class Api:
    def __init__(self, url: str, token: str, timeout: float | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = TIMEOUT if timeout is None else timeout

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> Any:
        target = self.url + path
        if query:
            target += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        data = None if body is None else json.dumps(body).encode()
        try:
            request = urllib.request.Request(target, data=data, method=method)  # noqa: S310
        except ValueError:
            raise Failure(f"{self.url} is not an http(s) URL (--url, MAJLIS_URL)") from None
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            raw = _open(request, self.url, self.timeout)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                document = json.loads(raw)
            except ValueError:
                document = {"status": error.code, "detail": raw.decode(errors="replace")}
            raise ApiError(error.code, document) from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise Failure(f"what answers at {self.url} is not Majlis (not JSON)") from None


def _read_document(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if path.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            where = getattr(error, "problem_mark", None)
            at = f" (line {where.line + 1})" if where else ""
            raise Failure(f"{path} is not valid YAML{at}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise Failure(f"{path} is not valid JSON: {error}") from None


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
    host = urllib.parse.urlsplit(answer["url"])
    try:
        data = _open(answer["url"], f"{host.scheme}://{host.netloc}", 300)
    except urllib.error.HTTPError as error:
        raise ApiError(
            error.code, {"status": error.code, "detail": "the download failed"}
        ) from None
    Path(target).write_bytes(data)
    return int(answer["rows"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.organizer")
    parser.add_argument(
        "--url", help="the API (default: MAJLIS_URL, else .local/address, else :8000)"
    )
    parser.add_argument("--token-file", help="default: .local/organizer-token")
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


def _token(token_file: str | None) -> str:
    if os.environ.get("MAJLIS_TOKEN"):
        return os.environ["MAJLIS_TOKEN"]
    path = Path(token_file) if token_file else local_dir() / "organizer-token"
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise Failure(
            f"no organizer token in {path} ({error.strerror or error}): set MAJLIS_TOKEN or "
            "--token-file (make run writes .local/organizer-token)"
        ) from None
    if not token:
        raise Failure(f"{path} is empty: set MAJLIS_TOKEN or --token-file")
    return token


def main(
    argv: list[str] | None = None,
    out: TextIO = sys.stdout,
    every: float = 1.0,
    err: TextIO | None = None,
) -> int:
    args = _parser().parse_args(argv)
    err = err or sys.stderr
    try:
        return _run(args, out, every)
    except Failure as error:
        err.write(f"{error}\n")
        return 1
    except KeyboardInterrupt:
        err.write("\ninterrupted\n")
        return 130


def _run(args: argparse.Namespace, out: TextIO, every: float) -> int:
    api = Api(args.url or default_url(), _token(args.token_file))
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
