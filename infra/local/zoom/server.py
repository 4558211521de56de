"""The stand-in's HTTP side: the threaded server, the request handler and the routing.

``_Server`` and ``_Handler`` answer HTTP/1.1 (keep-alive) on loopback and hand each request
to ``ZoomStandIn._handle``. :class:`ServerMixin` gives ``ZoomStandIn`` its lifecycle
(``start``, ``stop``, context manager, ``base_url``, ``api_url``, ``oauth_url``), the routing
of paths to endpoints (``/oauth/token`` → ``oauth``, ``/w/{id}`` → ``participants``,
``/v2/{meetings|webinars}/{id}/registrants...`` → ``registrants``, ``/v2/{…}/{id}`` and
``…/livestream`` → ``settings``, ``/v2/webinars/{id}/panelists`` → ``panelists``), the gate
every /v2 request passes (access token, rate limit, injected 429s and 5xx from ``faults``)
and the per-endpoint call counts and request log.

A new /v2 endpoint needs a path in ``_API_ROUTE``, a row in ``_ENDPOINTS`` and
``CATEGORY``, and a handler ``(session, query, body) -> Result`` in the dispatch table of
``_api``, written in a part of its own and mixed into ``ZoomStandIn`` in ``standin.py``.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .common import ApiError, Result, _kind
from .faults import _FIVE_XX, _HEADER_CATEGORY, Faults
from .webhooks import WEBHOOK_TIMEOUT

if TYPE_CHECKING:
    from .standin import ZoomStandIn

# Routing: which path and method is which endpoint, and each endpoint's rate-limit category.
_API_ROUTE = re.compile(
    r"/v2/(?P<kind>meetings|webinars)/(?P<id>[^/]+)"
    r"(?:/(?P<tail>registrants|batch_registrants|registrants/status|livestream|livestream/status"
    r"|panelists(?:/(?P<panelist>[^/]+))?))?"
)
_JOIN_ROUTE = re.compile(r"/w/(?P<id>[^/]+)")
_ENDPOINTS = {
    ("POST", "registrants"): "add",
    ("GET", "registrants"): "list",
    ("POST", "batch_registrants"): "batch",
    ("PUT", "registrants/status"): "status",
    ("GET", ""): "get",
    ("PATCH", ""): "update",
    ("GET", "livestream"): "livestream",
    ("PATCH", "livestream"): "update_livestream",
    ("PATCH", "livestream/status"): "livestream_status",
    ("GET", "panelists"): "panelists",
    ("POST", "panelists"): "add_panelists",
    ("DELETE", "panelists/{panelistId}"): "remove_panelist",
}
CATEGORY = {
    "add": "light",
    "status": "light",
    "list": "medium",
    "batch": "heavy",
    "get": "light",
    "update": "light",
    "livestream": "light",
    "update_livestream": "light",
    "livestream_status": "light",
    "panelists": "medium",
    "add_panelists": "medium",
    "remove_panelist": "light",
}


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


class ServerMixin:
    """Serving, routing and the /v2 gate of ``ZoomStandIn`` (state created in ``standin.py``)."""

    faults: Faults
    _lock: threading.RLock
    _cond: threading.Condition
    _random: random.Random
    _base: str | None
    _server: _Server | None
    _threads: list[threading.Thread]
    _connections: set[socket.socket]
    _stopping: bool
    _calls: dict[tuple[str, str], int]
    _log: deque[dict[str, Any]]

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
        tail = route["tail"] or ""
        if route["panelist"] is not None:
            tail = "panelists/{panelistId}"
        if tail.startswith("panelists") and route["kind"] == "meetings":  # webinars only
            return self._logged(
                "unknown", None, method, path, (404, {}, {"code": 404, "message": "Not Found."})
            )
        endpoint = _ENDPOINTS.get((method, tail))
        if endpoint is None:
            result = (405, {}, {"code": 405, "message": f"Method {method} not allowed."})
            return self._logged("unknown", None, method, path, result)
        kind = _kind(route["kind"])
        with self._lock:
            self._calls[(endpoint, kind)] = self._calls.get((endpoint, kind), 0) + 1
        result = self._api(endpoint, kind, route["id"], query, headers, body, route["panelist"])
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
        self,
        endpoint: str,
        kind: str,
        zoom_id: str,
        query: dict,
        headers: Any,
        body: bytes,
        panelist_id: str | None = None,
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
                    "get": self._get_session,
                    "update": self._update_session,
                    "livestream": self._get_livestream,
                    "update_livestream": self._update_livestream,
                    "livestream_status": self._livestream_status,
                    "panelists": self._list_panelists,
                    "add_panelists": self._add_panelists,
                    "remove_panelist": lambda session, _q, _b: self._remove_panelist(
                        session, str(panelist_id)
                    ),
                }[endpoint]
                result: Result = handler(session, query, body)
            except ApiError as error:
                result = (error.status, error.headers, error.payload)
        if failing:  # error_mode "after": the work is done, the answer is lost
            return 502, {}, {"code": 502, "message": _FIVE_XX[502]}
        return result
