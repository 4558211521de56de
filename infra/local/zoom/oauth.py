"""Server-to-Server OAuth: the ``/oauth/token`` endpoint and the checks of access tokens.

:class:`OAuthMixin` gives ``ZoomStandIn`` the token endpoint (``account_credentials``
grant, client id and secret in Basic auth), the check of ``Authorization: Bearer`` on
every /v2 request, ``token_lifetime`` (kept in ``standin.faults``) and ``revoke_tokens``.
Issued tokens live in ``self._tokens`` (token → expiry, epoch seconds).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from .common import Result
from .faults import Faults

SCOPE = (
    "meeting:read:list_registrants:admin meeting:write:registrant:admin "
    "meeting:write:batch_registrants:admin meeting:update:registrant_status:admin "
    "webinar:read:list_registrants:admin webinar:write:registrant:admin "
    "webinar:write:batch_registrants:admin webinar:update:registrant_status:admin"
)


class OAuthMixin:
    """The token endpoint and token checks of ``ZoomStandIn`` (state created in ``standin.py``)."""

    account_id: str
    client_id: str
    client_secret: str
    faults: Faults
    _lock: threading.RLock
    _clock: Callable[[], float]
    _tokens: dict[str, float]
    _base: str | None

    @property
    def token_lifetime(self) -> int:
        return self.faults.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self.faults.token_lifetime = seconds

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far (as a rotated client secret does)."""
        with self._lock:
            self._tokens.clear()

    def _authorize(self, authorization: str) -> Result | None:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        expiry = self._tokens.get(token) if scheme.lower() == "bearer" and token else None
        if expiry is None:
            return 401, {}, {"code": 124, "message": "Invalid access token."}
        if self._clock() >= expiry:
            return 401, {}, {"code": 124, "message": "Access token is expired."}
        return None

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
