"""A stand-in for Zoom's HTTP API over real HTTP on loopback: OAuth, registrants, webhooks.

Local mode and the tests talk to it exactly as Majlis talks to Zoom: Server-to-Server
OAuth at ``/oauth/token``, the registrant endpoints under ``/v2`` and signed webhooks
posted to Majlis. It keeps Zoom's rules that shape Majlis's design (see DESIGN.md,
"Facts to build on"):

- 3 add requests per registrant (email, case-insensitive) per meeting per UTC day,
  counted even when Zoom just answers the existing registrant; the 4th is a 429 with
  ``Retry-After`` until 00:00 UTC. A batch holding a registrant over its limit is
  refused whole with that 429, and every registrant in it still counts one attempt.
- at most 4,999 registrants per meeting or webinar (error 3043), 30 per batch;
- per-second limits per category (light 30/s, medium 20/s, heavy 10/s): a 429 with
  ``X-RateLimit-Category`` and no ``Retry-After``;
- ids beyond 32 bits: kept as strings here, sent as JSON numbers where Zoom sends numbers;
- webhooks signed over the exact raw bytes sent, posted from a background thread (a
  webhook may reach Majlis before the API response that caused it, as with Zoom),
  retried on 5xx or no answer within 3 s, never on 4xx, never de-duplicated.

Faults (latency, 5xx before or after the work, extra 429s, dropped webhooks, short
token lifetimes) are set at run time through ``standin.faults`` and drawn from a
seeded ``random.Random``. Counters, registrants and webhooks can be read for tests.

Run alone: ``python -m infra.local.zoom --port 9090 --webhook-url URL``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import heapq
import hmac
import html
import json
import math
import random
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_RATE_LIMITS: dict[str, int] = {"light": 30, "medium": 20, "heavy": 10}
CATEGORY = {"add": "light", "status": "light", "list": "medium", "batch": "heavy"}
DAILY_ADDS_PER_REGISTRANT = 3
BATCH_MAX = 30
STATUS_MAX = 30
PAGE_SIZE_DEFAULT = 30
PAGE_SIZE_MAX = 300
PAGE_TOKEN_LIFETIME = 15 * 60  # Zoom's next_page_token expires after 15 minutes
WEBHOOK_TIMEOUT = 3.0  # Zoom waits 3 s for a webhook's answer
DEFAULT_WEBHOOK_RETRY_DELAYS = (1.0, 5.0, 15.0)  # Zoom: 3 retries over ~90 minutes
OPERATOR = "host@example.org"
SCOPE = (
    "meeting:read:list_registrants:admin meeting:write:registrant:admin "
    "meeting:write:batch_registrants:admin meeting:update:registrant_status:admin "
    "webinar:read:list_registrants:admin webinar:write:registrant:admin "
    "webinar:write:batch_registrants:admin webinar:update:registrant_status:admin"
)
LISTABLE = ("approved", "pending", "denied")
ACTIONS = {"approve": "approved", "cancel": "cancelled", "deny": "denied"}
ACTION_EVENTS = {
    "approve": "registration_approved",
    "cancel": "registration_cancelled",
    "deny": "registration_denied",
}

_ZOOM_ID = re.compile(r"\d{9,12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_API_ROUTE = re.compile(
    r"/v2/(?P<kind>meetings|webinars)/(?P<id>[^/]+)"
    r"/(?P<tail>registrants|batch_registrants|registrants/status)"
)
_JOIN_ROUTE = re.compile(r"/w/(?P<id>[^/]+)")
_ENDPOINTS = {
    ("POST", "registrants"): "add",
    ("GET", "registrants"): "list",
    ("POST", "batch_registrants"): "batch",
    ("PUT", "registrants/status"): "status",
}
_HEADER_CATEGORY = {"light": "Light", "medium": "Medium", "heavy": "Heavy"}
_FIVE_XX = {
    500: "Internal Error.",
    502: "Bad Gateway.",
    503: "Service Temporarily Unavailable.",
}

Result = tuple[int, dict[str, str], Any]


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """Zoom's webhook signature: ``v0=`` + hex HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(key, message, hashlib.sha256).hexdigest()


def _kind(kind: str) -> str:
    """ "meeting", "meetings", "webinar" or "webinars" → "meeting" or "webinar"."""
    singular = kind.lower().removesuffix("s")
    if singular not in ("meeting", "webinar"):
        raise ValueError(f"kind must be meeting or webinar, not {kind!r}")
    return singular


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(payload.get("message"))
        self.status = status
        self.payload = payload
        self.headers = headers or {}


def _invalid(field_name: str, message: str = "Invalid field.") -> ApiError:
    return ApiError(
        400,
        {
            "code": 300,
            "message": "Validation Failed.",
            "errors": [{"field": field_name, "message": message}],
        },
    )


class Faults:
    """Faults set at run time; every read and write goes through the stand-in's lock.

    - ``latency``: seconds added to every request (OAuth included);
    - ``error_rate``: probability of a 5xx on /v2 requests; with ``error_mode`` "before"
      the work is not done (500, 502 or 503), with "after" it is done and a 502 answers
      (a lost response);
    - ``extra_429_rate``: probability of a per-second 429 on /v2 requests;
    - ``webhook_drop_rate``: probability that an event is never sent;
    - ``webhook_delay``: seconds between an event and its first delivery attempt;
    - ``token_lifetime``: ``expires_in`` of new access tokens, in seconds.
    """

    _defaults: dict[str, Any]

    def __init__(self, lock: threading.RLock, token_lifetime: int) -> None:
        object.__setattr__(self, "_lock", lock)
        object.__setattr__(
            self,
            "_defaults",
            {
                "latency": 0.0,
                "error_rate": 0.0,
                "error_mode": "before",
                "extra_429_rate": 0.0,
                "webhook_drop_rate": 0.0,
                "webhook_delay": 0.0,
                "token_lifetime": token_lifetime,
            },
        )
        self.reset()

    latency: float
    error_rate: float
    error_mode: str
    extra_429_rate: float
    webhook_drop_rate: float
    webhook_delay: float
    token_lifetime: int

    def _check(self, name: str, value: Any) -> Any:
        if name not in self._defaults:
            raise AttributeError(f"no fault named {name!r}")
        if name == "error_mode":
            if value not in ("before", "after"):
                raise ValueError("error_mode is 'before' or 'after'")
            return value
        if name == "token_lifetime":
            if int(value) < 1:
                raise ValueError("token_lifetime is at least 1 second")
            return int(value)
        value = float(value)
        if value < 0 or (name.endswith("_rate") and value > 1):
            raise ValueError(f"{name} out of range: {value}")
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(**{name: value})

    def set(self, **changes: Any) -> None:
        """Set several faults at once, e.g. ``faults.set(error_rate=1.0, error_mode="after")``."""
        checked = {name: self._check(name, value) for name, value in changes.items()}
        with self._lock:
            for name, value in checked.items():
                object.__setattr__(self, name, value)

    def reset(self) -> None:
        self.set(**self._defaults)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {name: getattr(self, name) for name in self._defaults}

    def __repr__(self) -> str:
        return f"Faults({self.snapshot()})"


@dataclass
class _Session:
    kind: str  # "meeting" or "webinar"
    zoom_id: str
    topic: str
    start_time: str
    duration: int = 120
    timezone: str = "UTC"
    approval_type: int = 0  # 0 automatic, 1 manual (then adds are pending unless auto_approve)
    uuid: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(16)).decode())
    registrants: list[dict[str, Any]] = field(default_factory=list)  # in creation order
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_email: dict[str, dict[str, Any]] = field(default_factory=dict)  # not cancelled
    active: int = 0  # approved or pending: what counts against capacity

    @property
    def type(self) -> int:
        return 2 if self.kind == "meeting" else 5

    @property
    def label(self) -> str:
        return self.kind.capitalize()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: no tracebacks
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZoomStandIn/1.0"
    wbufsize = -1  # headers and body leave in one write (flushed after each request)
    disable_nagle_algorithm = True
    standin: ZoomStandIn

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no access log
        pass

    def setup(self) -> None:
        super().setup()
        self.standin._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.standin._connection_closed(self.connection)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            status, headers, payload = self.standin._handle(method, self.path, self.headers, body)
        except Exception:  # noqa: BLE001 - a bug here answers a 500, as a server would
            status, headers, payload = 500, {}, {"code": 500, "message": "Internal Error."}
        if payload is None:
            data = b""
        elif isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json;charset=UTF-8", **headers}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and method != "HEAD":
            self.wfile.write(data)


class ZoomStandIn:
    """Zoom's registrant API and webhooks for one account, on loopback."""

    def __init__(
        self,
        *,
        account_id: str = "majlis-local",
        client_id: str = "majlis-client",
        client_secret: str = "majlis-local-client-secret",  # noqa: S107 - a loopback stand-in
        webhook_secret_token: str = "majlis-local-webhook-secret",  # noqa: S107
        webhook_url: str | None = None,
        rate_limits: dict[str, int] | None = None,
        capacity: int = 4999,
        token_lifetime: int = 3600,
        seed: int = 0,
        webhook_retry_delays: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_DELAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret_token = webhook_secret_token
        self.capacity = capacity
        self.webhook_retry_delays = tuple(webhook_retry_delays)
        self.host_id = "zHost" + secrets.token_urlsafe(12)
        self._clock = clock
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._random = random.Random(seed)
        self.faults = Faults(self._lock, token_lifetime)
        self._rate_limits: dict[str, int] = {}
        self.rate_limits = rate_limits or {}
        self._webhook_url: str | None = None
        self.webhook_url = webhook_url
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._base: str | None = None
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._stopping = False
        self._tokens: dict[str, float] = {}
        self._reset_data()

    # configuration ---------------------------------------------------------------

    @property
    def rate_limits(self) -> dict[str, int]:
        """Requests per second per category (light, medium, heavy); 0 or None: no limit."""
        with self._lock:
            return dict(self._rate_limits)

    @rate_limits.setter
    def rate_limits(self, limits: dict[str, int]) -> None:
        merged = {**DEFAULT_RATE_LIMITS, **{k.lower(): v for k, v in limits.items()}}
        with self._lock:
            self._rate_limits = merged
            self._windows: dict[str, deque[float]] = {}

    @property
    def webhook_url(self) -> str | None:
        return self._webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"webhook_url must be http(s): {url!r}")
        with self._lock:
            self._webhook_url = url

    @property
    def token_lifetime(self) -> int:
        return self.faults.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self.faults.token_lifetime = seconds

    def add_session(
        self,
        kind: str,
        zoom_id: str,
        *,
        topic: str | None = None,
        start_time: str | None = None,
        duration: int = 120,
        approval_type: int = 0,
    ) -> None:
        """Configure a meeting or webinar (otherwise created on first use of its id)."""
        kind = _kind(kind)
        zoom_id = str(zoom_id)
        with self._lock:
            self._deleted.discard(zoom_id)
            session = self._session(kind, zoom_id, create=True)
            assert session is not None
            if topic is not None:
                session.topic = topic
            if start_time is not None:
                session.start_time = start_time
            session.duration = duration
            session.approval_type = approval_type

    def delete_session(self, kind: str, zoom_id: str) -> None:
        """Make a meeting or webinar unknown: its endpoints answer 404 code 3001."""
        with self._lock:
            self._sessions.pop((_kind(kind), str(zoom_id)), None)
            self._deleted.add(str(zoom_id))

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far (as a rotated client secret does)."""
        with self._lock:
            self._tokens.clear()

    # lifecycle -------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            raise RuntimeError("the Zoom stand-in is already started")
        handler = type("ZoomStandInHandler", (_Handler,), {"standin": self})
        server = _Server((host, port), handler)
        self._server = server
        self._base = f"http://{host}:{server.server_address[1]}"
        self._stopping = False
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="zoom-standin-http",
                daemon=True,
            ),
            threading.Thread(target=self._deliver_loop, name="zoom-standin-webhooks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self._base

    def stop(self, *, flush_webhooks: float = 0.0) -> None:
        """Stop serving; first wait up to ``flush_webhooks`` seconds for pending webhooks."""
        if self._server is None:
            return
        if flush_webhooks > 0:
            self.wait_for_webhooks(flush_webhooks)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            connections = list(self._connections)
        self._server.shutdown()
        for connection in connections:  # keep-alive connections would outlive the server
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=WEBHOOK_TIMEOUT + 1)
        self._server = None
        self._threads = []

    def __enter__(self) -> ZoomStandIn:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base is None:
            raise RuntimeError("the Zoom stand-in is not started")
        return self._base

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v2"

    @property
    def oauth_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # observability ---------------------------------------------------------------

    def registrants(self, kind: str, zoom_id: str, status: str | None = None) -> list[dict]:
        """Copies of a session's registrants in creation order (cancelled ones included)."""
        with self._lock:
            session = self._sessions.get((_kind(kind), str(zoom_id)))
            if session is None:
                return []
            return [dict(r) for r in session.registrants if status is None or r["status"] == status]

    def add_attempts(self, zoom_id: str, email: str) -> int:
        """Today's (UTC) add requests for this registrant, refused ones included."""
        with self._lock:
            return self._attempts.get(self._attempt_key(str(zoom_id), email), 0)

    def calls(self, endpoint: str, kind: str | None = None) -> int:
        """Requests that reached an endpoint (token, add, batch, list, status, join_page),
        whatever they were answered; ``kind`` narrows to meetings or webinars."""
        with self._lock:
            if kind is None:
                return sum(n for (name, _), n in self._calls.items() if name == endpoint)
            return self._calls.get((endpoint, _kind(kind)), 0)

    @property
    def requests_log(self) -> list[dict[str, Any]]:
        """Every request: endpoint, method, path and the status answered."""
        with self._lock:
            return list(self._log)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every webhook event produced (sent, pending or dropped), as JSON objects."""
        with self._lock:
            return [json.loads(body) for body in self._events]

    @property
    def webhooks_sent(self) -> list[dict[str, Any]]:
        """One record per delivery attempt: event, body (raw bytes), json, headers, url,
        attempt, status (None when no answer) and error."""
        with self._lock:
            return [dict(record) for record in self._sent]

    @property
    def webhooks_dropped(self) -> list[dict[str, Any]]:
        """Events never sent: reason "fault" (webhook_drop_rate) or "no webhook_url"."""
        with self._lock:
            return [dict(record) for record in self._dropped]

    def delivered(self, event: str | None = None) -> list[dict[str, Any]]:
        """Events whose delivery got a 200 or 204, as JSON objects, optionally of one type."""
        with self._lock:
            return [
                record["json"]
                for record in self._sent
                if record["status"] in (200, 204) and event in (None, record["event"])
            ]

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until every produced webhook is delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def reset_counters(self) -> None:
        """Forget calls, add attempts, the request log and webhook records."""
        with self._lock:
            self._calls: dict[tuple[str, str], int] = {}
            self._attempts: dict[tuple[str, str, int], int] = {}
            self._log: deque[dict[str, Any]] = deque(maxlen=100_000)
            self._events: list[bytes] = []
            self._sent: list[dict[str, Any]] = []
            self._dropped: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget everything but configuration and access tokens; faults back to none."""
        self._reset_data()
        self.faults.reset()

    def _reset_data(self) -> None:
        with self._lock:
            self._sessions: dict[tuple[str, str], _Session] = {}
            self._deleted: set[str] = set()
            self._join_tokens: dict[str, tuple[str, str, str]] = {}
            self._page_tokens: dict[str, dict[str, Any]] = {}
            self._windows = {}
            self._outbox: list[tuple[float, int, dict[str, Any]]] = []
            self._pending = 0
            self._sequence = 0
            self.reset_counters()
            self._cond.notify_all()

    # simulated participants and endpoint validation ------------------------------

    def join(
        self,
        zoom_id: str,
        registrant_id: str | None = None,
        email: str | None = None,
        user_name: str | None = None,
        *,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """Send ``participant_joined``; ``email`` and ``registrant_id`` only when given,
        as Zoom often leaves them out. Returns the event sent."""
        zoom_id = str(zoom_id)
        with self._lock:
            session = None
            for candidate in [_kind(kind)] if kind else ["meeting", "webinar"]:
                session = self._sessions.get((candidate, zoom_id))
                if session is not None:
                    break
            if session is None:
                session = self._session(_kind(kind or "meeting"), zoom_id, create=True)
                assert session is not None
            registrant = session.by_id.get(registrant_id or "")
            if user_name is None:
                user_name = (
                    f"{registrant['first_name']} {registrant['last_name']}".strip()
                    if registrant
                    else "Guest"
                )
            participant: dict[str, Any] = {
                "user_id": str(16778240 + secrets.randbelow(10**6)),
                "user_name": user_name,
                "id": secrets.token_urlsafe(16),
                "participant_uuid": str(uuid.uuid4()).upper(),
                "join_time": _iso(self._clock()),
            }
            if email is not None:
                participant["email"] = email
            if registrant_id is not None:
                participant["registrant_id"] = registrant_id
            return self._emit(
                session, "participant_joined", {**self._object(session), "participant": participant}
            )

    def validate_endpoint(self) -> bool:
        """Send ``endpoint.url_validation`` and check the answer as Zoom does."""
        if self.webhook_url is None:
            raise RuntimeError("no webhook_url to validate")
        plain = secrets.token_urlsafe(16)
        event = {
            "payload": {"plainToken": plain},
            "event_ts": int(self._clock() * 1000),
            "event": "endpoint.url_validation",
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        status, _, answer = self._post(self.webhook_url, body)
        expected = hmac.new(
            self.webhook_secret_token.encode(), plain.encode(), hashlib.sha256
        ).hexdigest()
        try:
            parsed = json.loads(answer or b"")
        except ValueError:
            return False
        return (
            status == 200
            and isinstance(parsed, dict)
            and parsed.get("plainToken") == plain
            and parsed.get("encryptedToken") == expected
        )

    # HTTP ------------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> Result:
        url = urlsplit(raw_path)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query)
        if path == "/oauth/token":
            return self._logged(
                "token", None, method, path, self._oauth(method, query, headers, body)
            )
        join = _JOIN_ROUTE.fullmatch(path)
        if join and method in ("GET", "HEAD"):
            result = self._join_page(join["id"], query.get("tk", [""])[0])
            return self._logged("join_page", None, method, path, result)
        route = _API_ROUTE.fullmatch(path)
        if route is None:
            return self._logged(
                "unknown", None, method, path, (404, {}, {"code": 404, "message": "Not Found."})
            )
        endpoint = _ENDPOINTS.get((method, route["tail"]))
        if endpoint is None:
            result = (405, {}, {"code": 405, "message": f"Method {method} not allowed."})
            return self._logged("unknown", None, method, path, result)
        kind = _kind(route["kind"])
        with self._lock:
            self._calls[(endpoint, kind)] = self._calls.get((endpoint, kind), 0) + 1
        result = self._api(endpoint, kind, route["id"], query, headers, body)
        return self._logged(endpoint, kind, method, path, result, counted=True)

    def _logged(
        self,
        endpoint: str,
        kind: str | None,
        method: str,
        path: str,
        result: Result,
        *,
        counted: bool = False,
    ) -> Result:
        with self._lock:
            if not counted:
                key = (endpoint, kind or "")
                self._calls[key] = self._calls.get(key, 0) + 1
            self._log.append(
                {
                    "endpoint": endpoint,
                    "kind": kind,
                    "method": method,
                    "path": path,
                    "status": result[0],
                }
            )
        return result

    def _api(
        self, endpoint: str, kind: str, zoom_id: str, query: dict, headers: Any, body: bytes
    ) -> Result:
        faults = self.faults.snapshot()
        if faults["latency"]:
            time.sleep(faults["latency"])
        category = CATEGORY[endpoint]
        limited = {
            "X-RateLimit-Category": _HEADER_CATEGORY[category],
            "X-RateLimit-Type": "QPS",
        }
        per_second = {
            "code": 429,
            "message": "You have reached the maximum per-second rate limit for this API. "
            "Try again later.",
        }
        with self._lock:
            refused = self._authorize(headers.get("Authorization", ""))
            if refused:
                return refused
            if not self._admit(category):
                return 429, limited, per_second
            if faults["extra_429_rate"] and self._random.random() < faults["extra_429_rate"]:
                return 429, limited, per_second
            failing = bool(faults["error_rate"]) and self._random.random() < faults["error_rate"]
            if failing and faults["error_mode"] == "before":
                status = self._random.choice(sorted(_FIVE_XX))
                return status, {}, {"code": status, "message": _FIVE_XX[status]}
            try:
                session = self._session(kind, zoom_id)
                if session is None:
                    raise ApiError(
                        404,
                        {
                            "code": 3001,
                            "message": f"{kind.capitalize()} does not exist: {zoom_id}.",
                        },
                    )
                handler = {
                    "add": self._add,
                    "batch": self._batch,
                    "list": self._list,
                    "status": self._status,
                }[endpoint]
                result: Result = handler(session, query, body)
            except ApiError as error:
                result = (error.status, error.headers, error.payload)
        if failing:  # error_mode "after": the work is done, the answer is lost
            return 502, {}, {"code": 502, "message": _FIVE_XX[502]}
        return result

    def _authorize(self, authorization: str) -> Result | None:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        expiry = self._tokens.get(token) if scheme.lower() == "bearer" and token else None
        if expiry is None:
            return 401, {}, {"code": 124, "message": "Invalid access token."}
        if self._clock() >= expiry:
            return 401, {}, {"code": 124, "message": "Access token is expired."}
        return None

    def _admit(self, category: str) -> bool:
        """Sliding one-second window per category."""
        limit = self._rate_limits.get(category)
        if not limit:
            return True
        window = self._windows.setdefault(category, deque())
        now = time.monotonic()
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def _oauth(self, method: str, query: dict, headers: Any, body: bytes) -> Result:
        latency = self.faults.latency
        if latency:
            time.sleep(latency)
        if method != "POST":
            return 405, {}, {"reason": "Method not allowed", "error": "invalid_request"}
        params = {name: values[0] for name, values in query.items()}
        if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
            form = parse_qs(body.decode("utf-8", "replace"))
            params.update({name: values[0] for name, values in form.items()})
        if params.get("grant_type") != "account_credentials":
            return 400, {}, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"}
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        try:
            client_id, _, client_secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        if not (
            scheme.lower() == "basic"
            and hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        ):
            return (
                400,
                {},
                {"reason": "Invalid client_id or client_secret", "error": "invalid_client"},
            )
        if params.get("account_id") != self.account_id:
            return 400, {}, {"reason": "Invalid account id", "error": "invalid_request"}
        lifetime = self.faults.token_lifetime
        token = secrets.token_urlsafe(48)
        with self._lock:
            now = self._clock()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + lifetime
        return (
            200,
            {"Cache-Control": "no-store"},
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": lifetime,
                "scope": SCOPE,
                "api_url": self._base or "",
            },
        )

    def _join_page(self, zoom_id: str, token: str) -> Result:
        with self._lock:
            target = self._join_tokens.get(token)
            session = self._sessions.get(target[:2]) if target and target[1] == zoom_id else None
            registrant = session.by_id.get(target[2]) if session and target else None
            if session is None or registrant is None:
                status, text = 404, "This join link is not valid."
            elif registrant["status"] in ("cancelled", "denied"):
                status, text = (
                    403,
                    f"Your registration for {session.topic} was {registrant['status']}.",
                )
            else:
                name = f"{registrant['first_name']} {registrant['last_name']}".strip()
                status, text = 200, f"Joining {session.topic} as {name}"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Zoom stand-in</title></head><body><p>{html.escape(text)}</p></body></html>"
        )
        return status, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    # registrants -----------------------------------------------------------------

    def _session(self, kind: str, zoom_id: str, *, create: bool = False) -> _Session | None:
        session = self._sessions.get((kind, zoom_id))
        if session is None and (
            create or (_ZOOM_ID.fullmatch(zoom_id) and zoom_id not in self._deleted)
        ):
            day = math.floor(self._clock() / 86400) * 86400
            session = _Session(
                kind=kind,
                zoom_id=zoom_id,
                topic=f"Session {zoom_id}",
                start_time=_iso(day + 7 * 86400 + 12 * 3600),
            )
            self._sessions[(kind, zoom_id)] = session
        return session

    def _attempt_key(self, zoom_id: str, email: str) -> tuple[str, str, int]:
        return zoom_id, email.strip().lower(), math.floor(self._clock() / 86400)

    def _count_attempt(self, zoom_id: str, email: str) -> int:
        key = self._attempt_key(zoom_id, email)
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return self._attempts[key]

    def _daily_limited(self, session: _Session, email: str) -> ApiError:
        now = self._clock()
        retry_after = max(1, math.ceil((math.floor(now / 86400) + 1) * 86400 - now))
        message = (
            f"You have exceeded the daily rate limit ({DAILY_ADDS_PER_REGISTRANT}) of Add a "
            f"{session.kind} registrant API requests permitted for this particular registrant "
            f"({email}). You can resume these API requests at GMT 00:00:00."
        )
        return ApiError(429, {"code": 429, "message": message}, {"Retry-After": str(retry_after)})

    def _full(self, session: _Session) -> ApiError:
        return ApiError(
            400,
            {"code": 3043, "message": f"{session.label} has reached maximum attendee capacity."},
        )

    @staticmethod
    def _json_object(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ApiError(
                400, {"code": 300, "message": "Request Body should be a valid JSON object."}
            )
        return data

    @staticmethod
    def _check_person(person: Any, prefix: str = "") -> None:
        if not isinstance(person, dict):
            raise _invalid(prefix.rstrip(".") or "registrant")
        email = person.get("email")
        if not isinstance(email, str) or not email.strip():
            raise _invalid(f"{prefix}email", "This field is required.")
        if len(email) > 128 or not _EMAIL.fullmatch(email.strip()):
            raise _invalid(f"{prefix}email", "Invalid email.")
        first = person.get("first_name")
        if not isinstance(first, str) or not first.strip():
            raise _invalid(f"{prefix}first_name", "This field is required.")
        if len(first) > 64:
            raise _invalid(f"{prefix}first_name")
        last = person.get("last_name")
        if last is not None and (not isinstance(last, str) or len(last) > 64):
            raise _invalid(f"{prefix}last_name")

    def _register(
        self, session: _Session, person: dict[str, Any], auto_approve: Any
    ) -> dict[str, Any]:
        """The registrant for this email: the existing one, or a new one (with a webhook)."""
        email = person["email"].strip()
        existing = session.by_email.get(email.lower())
        if existing is not None:
            return existing
        if session.active >= self.capacity:
            raise self._full(session)
        registrant_id = secrets.token_urlsafe(16)
        token = secrets.token_urlsafe(32)
        approved = session.approval_type == 0 or auto_approve is True
        registrant: dict[str, Any] = {
            "id": registrant_id,
            "email": email,
            "first_name": person["first_name"],
            "last_name": person.get("last_name") or "",
            "status": "approved" if approved else "pending",
            "create_time": _iso(self._clock()),
            "join_url": f"{self.base_url}/w/{session.zoom_id}?tk={token}",
        }
        if session.kind == "meeting":
            registrant["participant_pin_code"] = 100000 + secrets.randbelow(900000)
        session.registrants.append(registrant)
        session.by_id[registrant_id] = registrant
        session.by_email[email.lower()] = registrant
        session.active += 1
        self._join_tokens[token] = (session.kind, session.zoom_id, registrant_id)
        person_fields = {
            "id": registrant_id,
            "first_name": registrant["first_name"],
            "last_name": registrant["last_name"],
            "email": email,
            "status": registrant["status"],
            "join_url": registrant["join_url"],
        }
        if not person_fields["last_name"]:
            del person_fields["last_name"]
        self._emit(
            session,
            "registration_created",
            {**self._object(session), "registrant": person_fields},
        )
        return registrant

    def _add(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        self._check_person(data)
        email = data["email"].strip()
        if self._count_attempt(session.zoom_id, email) > DAILY_ADDS_PER_REGISTRANT:
            raise self._daily_limited(session, email)
        registrant = self._register(session, data, data.get("auto_approve"))
        answer: dict[str, Any] = {
            "id": int(session.zoom_id),
            "join_url": registrant["join_url"],
            "registrant_id": registrant["id"],
            "start_time": session.start_time,
            "topic": session.topic,
            "occurrences": [],
        }
        if session.kind == "meeting":
            answer["participant_pin_code"] = registrant["participant_pin_code"]
        return 201, {}, answer

    def _batch(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        people = data.get("registrants")
        if not isinstance(people, list) or not 1 <= len(people) <= BATCH_MAX:
            raise ApiError(
                400,
                {
                    "code": 300,
                    "message": f"Registrants must hold between 1 and {BATCH_MAX} entries.",
                },
            )
        for index, person in enumerate(people):
            self._check_person(person, f"registrants[{index}].")
        over = None
        for person in people:  # every registrant in the batch counts one attempt
            if (
                self._count_attempt(session.zoom_id, person["email"].strip())
                > DAILY_ADDS_PER_REGISTRANT
            ):
                over = over or person["email"].strip()
        if over:
            raise self._daily_limited(session, over)
        new = {p["email"].strip().lower() for p in people} - session.by_email.keys()
        if session.active + len(new) > self.capacity:
            raise self._full(session)
        answers = []
        for person in people:
            registrant = self._register(session, person, data.get("auto_approve"))
            answer = {
                "email": registrant["email"],
                "join_url": registrant["join_url"],
                "registrant_id": registrant["id"],
            }
            if session.kind == "meeting":
                answer["participant_pin_code"] = registrant["participant_pin_code"]
            answers.append(answer)
        return 201, {}, {"registrants": answers}

    def _list(self, session: _Session, query: dict, _body: bytes) -> Result:
        status = query.get("status", ["approved"])[0]
        if status not in LISTABLE:
            raise _invalid("status")
        try:
            page_size = int(query.get("page_size", [PAGE_SIZE_DEFAULT])[0])
        except ValueError:
            raise _invalid("page_size") from None
        if page_size < 1:
            raise _invalid("page_size")
        page_size = min(page_size, PAGE_SIZE_MAX)
        now = self._clock()
        self._page_tokens = {t: s for t, s in self._page_tokens.items() if s["expires"] > now}
        start = 0
        token = query.get("next_page_token", [""])[0]
        if token:
            state = self._page_tokens.get(token)
            if (
                state is None
                or state["session"] != (session.kind, session.zoom_id)
                or state["status"] != status
            ):
                raise ApiError(
                    400, {"code": 300, "message": "The next page token is invalid or expired."}
                )
            start = state["position"]
        page: list[dict[str, Any]] = []
        next_position = None
        for position in range(start, len(session.registrants)):
            registrant = session.registrants[position]
            if registrant["status"] != status:
                continue
            if len(page) == page_size:
                next_position = position
                break
            page.append(registrant)
        next_token = ""
        if next_position is not None:
            next_token = secrets.token_urlsafe(24)
            self._page_tokens[next_token] = {
                "session": (session.kind, session.zoom_id),
                "status": status,
                "position": next_position,
                "expires": now + PAGE_TOKEN_LIFETIME,
            }
        total = sum(1 for r in session.registrants if r["status"] == status)
        fields = ("id", "email", "first_name", "last_name", "status", "create_time", "join_url")
        return (
            200,
            {},
            {
                "page_count": math.ceil(total / page_size),
                "page_size": page_size,
                "total_records": total,
                "next_page_token": next_token,
                "registrants": [
                    {**{name: r[name] for name in fields}, "custom_questions": []} for r in page
                ],
            },
        )

    def _status(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        action = data.get("action")
        if action not in ACTIONS:
            raise _invalid("action")
        people = data.get("registrants")
        if not isinstance(people, list) or not 1 <= len(people) <= STATUS_MAX:
            raise ApiError(
                400,
                {
                    "code": 300,
                    "message": f"Registrants must hold between 1 and {STATUS_MAX} entries.",
                },
            )
        allowed_from = {
            "approve": ("pending", "denied"),
            "cancel": ("approved", "pending"),
            "deny": ("approved", "pending"),
        }[action]
        targets: list[dict[str, Any]] = []
        for person in people:
            if not isinstance(person, dict):
                raise _invalid("registrants")
            found = None
            if person.get("id"):
                found = session.by_id.get(str(person["id"]))
            elif isinstance(person.get("email"), str):
                found = session.by_email.get(person["email"].strip().lower())
            # unknown registrants are ignored, as are those already past this action
            if found is not None and found["status"] in allowed_from and found not in targets:
                targets.append(found)
        if action == "approve":
            joining = sum(1 for r in targets if r["status"] == "denied")
            if session.active + joining > self.capacity:
                raise self._full(session)
        for registrant in targets:
            was_active = registrant["status"] in ("approved", "pending")
            registrant["status"] = ACTIONS[action]
            session.active += int(registrant["status"] in ("approved", "pending")) - int(was_active)
            if action == "cancel":
                session.by_email.pop(registrant["email"].lower(), None)
            person_fields = {
                "id": registrant["id"],
                "first_name": registrant["first_name"],
                "last_name": registrant["last_name"],
                "email": registrant["email"],
            }
            if action == "approve":
                person_fields["join_url"] = registrant["join_url"]
            self._emit(
                session,
                ACTION_EVENTS[action],
                {**self._object(session), "registrant": person_fields},
                operator=True,
            )
        return 204, {}, None

    # webhooks --------------------------------------------------------------------

    def _object(self, session: _Session) -> dict[str, Any]:
        return {
            "uuid": session.uuid,
            "id": int(session.zoom_id),
            "host_id": self.host_id,
            "topic": session.topic,
            "type": session.type,
            "start_time": session.start_time,
            "duration": session.duration,
            "timezone": session.timezone,
        }

    def _emit(
        self, session: _Session, name: str, obj: dict[str, Any], *, operator: bool = False
    ) -> dict[str, Any]:
        """Queue one event for delivery (called with the lock held)."""
        payload: dict[str, Any] = {"account_id": self.account_id}
        if operator:
            payload["operator"] = OPERATOR
            payload["operator_id"] = self.host_id
        payload["object"] = obj
        event = {
            "event": f"{session.kind}.{name}",
            "event_ts": int(self._clock() * 1000),
            "payload": payload,
        }
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        self._events.append(body)
        record = {"event": event["event"], "body": body, "json": event}
        drop = self.faults.webhook_drop_rate
        if self._webhook_url is None:
            self._dropped.append({**record, "reason": "no webhook_url"})
        elif drop and self._random.random() < drop:
            self._dropped.append({**record, "reason": "fault"})
        else:
            self._schedule(
                {**record, "url": self._webhook_url, "attempt": 1}, self.faults.webhook_delay
            )
        return event

    def _schedule(self, delivery: dict[str, Any], delay: float) -> None:
        self._sequence += 1
        heapq.heappush(self._outbox, (time.monotonic() + delay, self._sequence, delivery))
        if delivery["attempt"] == 1:
            self._pending += 1
        self._cond.notify_all()

    def _deliver_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    wait = None
                    if self._outbox:
                        wait = self._outbox[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                    self._cond.wait(wait)
                _, _, delivery = heapq.heappop(self._outbox)
            status, headers, answer = self._post(delivery["url"], delivery["body"])
            with self._cond:
                error = answer.decode("utf-8", "replace") if status is None else None
                self._sent.append(
                    {**delivery, "headers": headers, "status": status, "error": error}
                )
                attempt = delivery["attempt"]
                retry = (status is None or status >= 500) and attempt <= len(
                    self.webhook_retry_delays
                )
                if retry:
                    self._schedule(
                        {**delivery, "attempt": attempt + 1}, self.webhook_retry_delays[attempt - 1]
                    )
                else:
                    self._pending = max(0, self._pending - 1)
                self._cond.notify_all()

    def _post(self, url: str, body: bytes) -> tuple[int | None, dict[str, str], bytes]:
        """POST one signed webhook; (status or None, headers sent, answer or error text)."""
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Zoom Marketplace/1.1a",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(self.webhook_secret_token, timestamp, body),
        }
        request = urllib.request.Request(  # noqa: S310 - webhook_url is checked to be http(s)
            url, data=body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
                return response.status, headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, headers, error.read()
        except (urllib.error.URLError, OSError) as error:
            return None, headers, repr(error).encode()


def main() -> None:  # pragma: no cover - a manual entry point
    parser = argparse.ArgumentParser(description="Zoom's API and webhooks on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--webhook-url")
    arguments = parser.parse_args()
    standin = ZoomStandIn(webhook_url=arguments.webhook_url)
    base = standin.start(arguments.host, arguments.port)
    print(f"Zoom stand-in at {base} (API {standin.api_url}, OAuth {standin.oauth_url})")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop(flush_webhooks=2.0)


if __name__ == "__main__":  # pragma: no cover
    main()
