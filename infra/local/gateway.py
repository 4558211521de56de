"""The API gateway of local mode: ``chalice local`` answering errors as API Gateway does.

In AWS, API Gateway itself answers some requests (no token, a token the authorizer
denies, an authorizer that failed, an unknown path) with the gateway responses of
``infra/resources.yaml``:
problem documents. Chalice's local gateway answers those with its own bodies; this
one answers with the same documents as AWS, read from the same definition. The test
client and the local server both use it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from chalice.app import Chalice
from chalice.cli.factory import CLIFactory
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    NotAuthorizedError,
    ThreadedHTTPServer,
)
from chalice.test import Client, TestHTTPClient

from infra import PROJECT_DIR, gateway_responses
from infra.local.mailbox import PREFIX, respond


class AuthorizerFailure(LocalGatewayException):
    """The authorizer function raised: API Gateway answers AUTHORIZER_FAILURE."""

    CODE = 500


class _FailingAuthorizer:
    """Chalice's local authorizer, except that an authorizer function that raises is
    answered as API Gateway answers it (its AUTHORIZER_FAILURE response), not a 500."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def authorize(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._inner.authorize(*args, **kwargs)
        except LocalGatewayException:
            raise
        except Exception:  # noqa: BLE001 - what Lambda reports to API Gateway as a failure
            raise AuthorizerFailure({}, b'{"message": null}') from None


class GatewayResponse(LocalGatewayException):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(headers, body)
        self.CODE = status


def _kind(error: LocalGatewayException) -> str:
    if isinstance(error, AuthorizerFailure):
        return "AUTHORIZER_FAILURE"
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError):
        if b"Missing Authentication Token" in error.body or b"Credential" in error.body:
            return "MISSING_AUTHENTICATION_TOKEN"
        return "ACCESS_DENIED"
    if isinstance(error, InvalidAuthorizerError):
        return "DEFAULT_5XX"
    return "DEFAULT_4XX"


def as_gateway_response(error: LocalGatewayException) -> GatewayResponse:
    responses = gateway_responses()
    kind = _kind(error)
    spec = responses.get(kind) or responses["DEFAULT_5XX" if error.CODE >= 500 else "DEFAULT_4XX"]
    status = int(spec.get("statusCode", error.CODE))
    message = json.loads(error.body or b"{}").get("message") or json.loads(error.body or b"{}").get(
        "Message", ""
    )
    body = (
        spec["responseTemplates"]["application/json"]
        .replace("$context.error.statusCode", str(status))
        .replace("$context.error.messageString", json.dumps(message))
    )
    headers = dict(error.headers)
    for name, value in spec.get("responseParameters", {}).items():
        headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
    return GatewayResponse(status, headers, body.encode("utf-8"))


class ProblemGateway(LocalGateway):
    def __init__(self, app: Chalice, config: Config, source_ip: str | None = None) -> None:
        super().__init__(app, config)
        self._authorizer = _FailingAuthorizer(self._authorizer)
        if source_ip:  # as API Gateway does: the caller's address, not always 127.0.0.1
            self.event_converter.LOCAL_SOURCE_IP = source_ip

    def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            if not self._has_method(method, path):
                # API Gateway answers a method a resource lacks as an unknown path (the
                # app's own 405 would never be reached in AWS).
                raise ForbiddenError({}, b'{"message": "Missing Authentication Token"}')
            return super().handle_request(method, path, headers, body)
        except GatewayResponse:
            raise
        except LocalGatewayException as error:
            raise as_gateway_response(error) from None

    def _has_method(self, method: str, path: str) -> bool:
        try:
            route = self.event_converter._route_matcher.match_route(path).route
        except ValueError:
            return True  # no such path: chalice local answers it as API Gateway does
        return method == "OPTIONS" or method in self._app_object.routes[route]


# Requests the local server runs at once; the others wait their turn. One interpreter
# shares its core among its threads: 100 clients answered side by side each wait on the
# others, and the slowest wait the longest (see bench/http_load.py).
API_AT_ONCE = 16


class Turns:
    """At most ``at_once`` holders at a time, served in order of arrival.

    A freed place goes to the longest waiter, never to a thread that has only just
    asked (``threading.Semaphore`` lets a newcomer take it, and sends the waiter it woke
    to the back of the line: the few unlucky requests would wait seconds).
    """

    def __init__(self, at_once: int) -> None:
        self._free = at_once
        self._lock = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder that hands this waiter its place

    def __exit__(self, *_: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)


class ProblemRequestHandler(ChaliceRequestHandler):
    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config
    ) -> None:
        self.local_gateway = ProblemGateway(app_object, config, client_address[0])
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs would print paths holding tokens: keep them quiet."""

    def _generic_handle(self) -> None:
        outbox = getattr(self.server, "outbox", None)
        if outbox is not None and self.command == "GET" and self.path.startswith(PREFIX):
            status, content_type, body = respond(outbox, self.path.split("?")[0])
            self._send_http_response(status, {"Content-Type": content_type}, body)
            return
        with self.server.turns:
            super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle


class BusyServer(ThreadedHTTPServer):
    """Chalice's threaded server, with room for a burst of connections (default: 5)."""

    request_queue_size = 512
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.turns = Turns(API_AT_ONCE)


def chalice_config(stage: str = "dev") -> Config:
    return CLIFactory(project_dir=str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage)


def local_server(app: Chalice, host: str, port: int, stage: str = "dev") -> LocalDevServer:
    """What ``chalice local`` serves, with AWS's gateway responses."""
    if not isinstance(app, CustomLocalChalice):  # as chalice.local.create_local_server does
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    return LocalDevServer(
        app,
        chalice_config(stage),
        host,
        port,
        handler_cls=ProblemRequestHandler,
        server_cls=BusyServer,
    )


class ProblemHTTPClient(TestHTTPClient):
    def __init__(self, app: Chalice, config: Config) -> None:
        super().__init__(app, config)
        self._local_gateway = ProblemGateway(app, config)


class ProblemClient(Client):
    """``chalice.test.Client`` with AWS's gateway responses."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            self._http_client = ProblemHTTPClient(self._app, self._chalice_config)
        return self._http_client


def problem_client(app: Chalice, stage: str = "dev") -> ProblemClient:
    return ProblemClient(app, stage_name=stage, project_dir=str(PROJECT_DIR))
