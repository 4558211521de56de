"""API Gateway as the packaged template configures it, in front of the API's function.

Everything comes from the REST API's OpenAPI body in the translated template: which
paths and methods exist (anything else is ``MISSING_AUTHENTICATION_TOKEN``), which
need the ``organizer_token`` authorizer (a TOKEN authorizer whose policies are
cached per token for its TTL), the gateway responses API Gateway itself answers with,
the binary media types, and the stage's throttling. Each request reaches the API
function as a REST proxy event, and one line in the stage's access-log format is
written to its log group with the role API Gateway logs with.
"""

from __future__ import annotations

import base64
import fnmatch
import http.server
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infra.local.provision import ACCOUNT_ID
from infra.rehearsal.functions import Pool
from infra.rehearsal.stack import REGION, Api


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    route: str | None = None  # the resource template, when a route matched

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class _Route:
    template: str
    pattern: re.Pattern[str]
    names: list[str]
    methods: dict[str, dict[str, Any]]
    literal_parts: int


@dataclass
class Counts:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    gateway_answered: dict[str, int] = field(default_factory=dict)
    authorizer_invocations: int = 0


class Gateway:
    def __init__(
        self, api: Api, handler: Pool, authorizer: Pool, host: str, now: Any = time.time
    ) -> None:
        self.api = api
        self.handler = handler
        self.authorizer = authorizer
        self.host = host
        self._now = now
        self.routes = sorted(
            (_route(t, methods) for t, methods in api.body["paths"].items()),
            key=lambda r: -r.literal_parts,
        )
        self.responses = api.body.get("x-amazon-apigateway-gateway-responses", {})
        self.binary_types = set(api.body.get("x-amazon-apigateway-binary-media-types", []))
        (self._authorizer_spec,) = api.body.get("securityDefinitions", {}).values()
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._bucket = (float(api.burst_limit or 0), time.monotonic())
        self.counts = Counts()
        self.access_log: list[str] = []

    # -- the request's way through ---------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        source_ip: str = "203.0.113.10",
    ) -> Response:
        began = time.perf_counter()
        parts = urlsplit(url)
        path = parts.path or "/"
        headers = {"Host": self.host, "User-Agent": "Mozilla/5.0 (rehearsal)"} | (headers or {})
        raw = body.encode("utf-8") if isinstance(body, str) else body
        request_id = secrets.token_hex(16)
        route, params = self._match(path)
        integration_ms = 0.0
        if not self._take_turn():
            response = self._gateway_response("THROTTLED", 429, "Too Many Requests")
        elif route is None or method.lower() not in route.methods:
            response = self._gateway_response(
                "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"
            )
        else:
            spec = route.methods[method.lower()]
            authorized: dict[str, Any] | None = {}
            refusal = None
            if spec.get("security"):
                authorized, refusal = self._authorize(method, path, headers)
            if refusal is not None:
                response = refusal
            else:
                event = self._event(
                    method,
                    path,
                    route,
                    params,
                    parts.query,
                    headers,
                    raw,
                    source_ip,
                    request_id,
                    authorized,
                )
                answer = self.handler.invoke(event)
                integration_ms = answer.ms
                response = self._integration_response(answer)
            response.route = route.template
        self._log(request_id, method, response, began, integration_ms)
        return response

    def forget_authorizations(self) -> None:
        """Drop the authorizer's cached answers (they would not outlive a day)."""
        with self._lock:
            self._cache.clear()

    def _match(self, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, dict(zip(route.names, found.groups(), strict=True))
        return None, {}

    def _take_turn(self) -> bool:
        """The stage's throttle: a token bucket of ``burst`` refilled at ``rate``."""
        if not self.api.rate_limit:
            return True
        with self._lock:
            tokens, then = self._bucket
            now = time.monotonic()
            tokens = min(
                float(self.api.burst_limit or 1), tokens + (now - then) * self.api.rate_limit
            )
            if tokens < 1:
                self._bucket = (tokens, now)
                return False
            self._bucket = (tokens - 1, now)
            return True

    def _authorize(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[dict[str, Any] | None, Response | None]:
        spec = self._authorizer_spec
        token = next((v for k, v in headers.items() if k.lower() == spec["name"].lower()), "")
        if not token:
            return None, self._gateway_response("UNAUTHORIZED", 401, "Unauthorized")
        ttl = spec["x-amazon-apigateway-authorizer"].get("authorizerResultTtlInSeconds", 300)
        stage = f"rehearsal/{self.api.stage}"
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{stage}/{method}{path}"
        with self._lock:
            cached = self._cache.get(token)
        if cached is None or cached[0] < time.monotonic():
            answer = self.authorizer.invoke(
                {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            )
            self.counts.authorizer_invocations += 1
            if answer.error and "Unauthorized" in answer.error:
                return None, self._gateway_response("UNAUTHORIZED", 401, "Unauthorized")
            if answer.error:
                return None, self._gateway_response("AUTHORIZER_FAILURE", 500, None)
            cached = (time.monotonic() + ttl, answer.result)
            with self._lock:
                self._cache[token] = cached
        policy = cached[1] or {}
        if not _allows(policy.get("policyDocument", {}), method_arn):
            return None, self._gateway_response(
                "ACCESS_DENIED", 403, "User is not authorized to access this resource"
            )
        return (policy.get("context") or {}) | {"principalId": policy.get("principalId")}, None

    def _event(
        self,
        method: str,
        path: str,
        route: _Route,
        params: dict[str, str],
        query: str,
        headers: dict[str, str],
        raw: bytes | None,
        source_ip: str,
        request_id: str,
        authorized: dict[str, Any] | None,
    ) -> dict[str, Any]:
        values = parse_qs(query, keep_blank_values=True)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        binary = content_type.split(";")[0].strip() in self.binary_types
        if raw is None:
            body, encoded = None, False
        elif binary:
            body, encoded = base64.b64encode(raw).decode("ascii"), True
        else:
            body, encoded = raw.decode("utf-8", "replace"), False
        return {
            "resource": route.template,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in values.items()} or None,
            "multiValueQueryStringParameters": values or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.template,
                "httpMethod": method,
                "path": f"/{self.api.stage}{path}",
                "stage": self.api.stage,
                "requestId": request_id,
                "accountId": ACCOUNT_ID,
                "apiId": "rehearsal",
                "domainName": self.host,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": int(self._now() * 1000),
                "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
                "authorizer": authorized or None,
            },
            "body": body,
            "isBase64Encoded": encoded,
        }

    def _integration_response(self, answer: Any) -> Response:
        if answer.error:  # Lambda failed: API Gateway answers 502
            return self._gateway_response("DEFAULT_5XX", 502, "Internal server error")
        result = answer.result
        body = result.get("body") if isinstance(result, dict) else None
        if (
            not isinstance(result, dict)
            or not isinstance(result.get("statusCode"), int)
            or not isinstance(body, str | None)
        ):  # what API Gateway answers a proxy response it cannot read
            return self._gateway_response("DEFAULT_5XX", 502, "Malformed Lambda proxy response")
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values) if name.lower() != "set-cookie" else values[-1]
        body = body or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        return Response(result["statusCode"], headers, data)

    def _gateway_response(self, kind: str, status: int, message: str | None) -> Response:
        self.counts.gateway_answered[kind] = self.counts.gateway_answered.get(kind, 0) + 1
        fallback = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        spec = self.responses.get(kind) or self.responses.get(fallback) or {}
        status = int(spec.get("statusCode", status))
        template = (spec.get("responseTemplates") or {}).get("application/json")
        body = (
            template.replace("$context.error.statusCode", str(status)).replace(
                "$context.error.messageString", json.dumps(message)
            )
            if template
            else json.dumps({"message": message})
        )
        headers = {"Content-Type": "application/json"}
        for name, value in (spec.get("responseParameters") or {}).items():
            headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
        return Response(status, headers, body.encode("utf-8"))

    def _log(
        self, request_id: str, method: str, response: Response, began: float, integration: float
    ) -> None:
        with self._lock:
            self.counts.requests += 1
            self.counts.by_status[response.status] = (
                self.counts.by_status.get(response.status, 0) + 1
            )
        form = self.api.access_log_format
        if not form:
            return
        values = {
            "$context.requestId": request_id,
            "$context.requestTimeEpoch": str(int(self._now() * 1000)),
            "$context.httpMethod": method,
            "$context.resourcePath": response.route or "",
            "$context.status": str(response.status),
            "$context.responseLatency": str(round((time.perf_counter() - began) * 1000)),
            "$context.integrationLatency": str(round(integration)),
            "$context.error.responseType": "",
        }
        line = re.sub(r"\$context\.[A-Za-z.]+", lambda m: values.get(m.group(0), "-"), form)
        with self._lock:
            self.access_log.append(line)


def _route(template: str, methods: dict[str, Any]) -> _Route:
    names = re.findall(r"\{([^}]+)\}", template)
    pattern = re.escape(template)
    for name in names:
        pattern = pattern.replace(re.escape("{" + name + "}"), "([^/]+)")
    literal = len([p for p in template.split("/") if p and not p.startswith("{")])
    return _Route(template, re.compile(pattern), names, methods, literal)


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    """Whether an authorizer's policy lets ``method_arn`` through (a Deny wins)."""
    allowed = False
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def serve(gateway: Gateway, source_ip: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    """The gateway on a loopback port, for callers that speak HTTP (Zoom's webhooks):
    every request is taken as coming from ``source_ip``. Returns the server and its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = gateway.request(
                self.command, self.path, headers=headers, body=body, source_ip=source_ip
            )
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller stopped waiting (Zoom does, after a few seconds)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="gateway-http", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
