"""Zoom's REST API (Server-to-Server OAuth), with its limits taken seriously.

The access token is cached per container and refreshed five minutes before it expires
(or at once when Zoom says it is invalid). Each call waits for its share of Zoom's
per-second limits (the pacing is per container; the zoom worker's event source caps
concurrency so that containers together stay under the account's limits). Failures are
classified so the caller can do the right thing: retry later, defer to tomorrow,
record a full session, or give up with a reason.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from chalicelib import metrics
from chalicelib.ports import (
    ZoomClient,
    ZoomCredentials,
    ZoomFailure,
    ZoomInterpretation,
    ZoomLanguageUndefined,
    ZoomPanelist,
    ZoomRegistrant,
)

# Calls per second a container may make in each of Zoom's categories (Pro plan: 30, 20
# and 10 per account; the zoom worker runs at most two containers at once). Batch adds
# are heavy: two containers make 9.8 of the 10 a second an import may use (a 429 at a
# second's edge gives its attempt back); the lighter ones keep more room for the others
# calling at the same time (reconciliation's lists, single adds).
DEFAULT_PACE = {"light": 14.0, "medium": 9.0, "heavy": 4.9}
REFRESH_BEFORE = 300.0

# Zoom's built-in interpretation languages and the codes of the older ``languages`` form;
# any other language is a custom one of the account, named in ``interpreter_languages``.
BUILT_IN_LANGUAGES = {
    "English": "US",
    "Chinese": "CN",
    "Japanese": "JP",
    "German": "DE",
    "French": "FR",
    "Russian": "RU",
    "Portuguese": "PT",
    "Spanish": "ES",
    "Korean": "KR",
}
# How a refusal names the language (the stand-in's wording; Zoom documents none).
_UNDEFINED_LANGUAGE = re.compile(r"[Ii]nvalid interpreter language: ([^.,:]+)")


class _Pace:
    """At most ``rate`` calls a second, spaced evenly (a thread-safe token bucket of 1)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        if start > now:
            time.sleep(start - now)


class ZoomApi(ZoomClient):
    def __init__(
        self,
        credentials: Callable[[], ZoomCredentials],
        api_url: str,
        oauth_url: str,
        pace: dict[str, float] | None = None,
        timeout: float = 8.0,
    ) -> None:
        self._credentials = credentials
        self.api_url = api_url.rstrip("/")
        self.oauth_url = oauth_url
        self._pace = {k: _Pace(v) for k, v in {**DEFAULT_PACE, **(pace or {})}.items()}
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2.0, read=timeout), retries=False, maxsize=8
        )
        self._token: tuple[str, float] | None = None
        self._token_lock = threading.Lock()

    # -- the token ---------------------------------------------------------------------

    def _access_token(self, renew: bool = False) -> str:
        with self._token_lock:
            if not renew and self._token and time.monotonic() < self._token[1]:
                return self._token[0]
            creds = self._credentials()
            basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
            query = urlencode({"grant_type": "account_credentials", "account_id": creds.account_id})
            try:
                response = self._http.request(
                    "POST",
                    f"{self.oauth_url}?{query}",
                    headers={"Authorization": f"Basic {basic}"},
                )
            except urllib3.exceptions.HTTPError as error:
                raise ZoomFailure("unavailable", f"token: {type(error).__name__}") from None
            if response.status >= 500:
                raise ZoomFailure("unavailable", f"token: HTTP {response.status}")
            if response.status != 200:
                raise ZoomFailure("auth", f"token refused: HTTP {response.status}")
            document = json.loads(response.data)
            lifetime = float(document.get("expires_in", 3600))
            expires = time.monotonic() + max(lifetime - REFRESH_BEFORE, lifetime / 2)
            self._token = (document["access_token"], expires)
            return self._token[0]

    # -- calls -------------------------------------------------------------------------

    def _call(
        self, category: str, method: str, path: str, body: Any = None, query: dict | None = None
    ) -> Any:
        try:
            return self._request(category, method, path, body, query)
        except ZoomFailure as failure:
            metrics.count("ZoomErrors", kind=failure.kind)
            raise

    def _request(
        self, category: str, method: str, path: str, body: Any = None, query: dict | None = None
    ) -> Any:
        url = f"{self.api_url}{path}" + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            self._pace[category].wait()
            headers = {"Authorization": f"Bearer {self._access_token(renew=attempt > 0)}"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self._http.request(method, url, body=data, headers=headers)
            except urllib3.exceptions.HTTPError as error:
                raise ZoomFailure("unavailable", type(error).__name__) from None
            if response.status == 401 and attempt == 0:
                continue  # the token expired early or was revoked: one fresh token, once
            return self._answer(response)
        raise ZoomFailure("auth", "Zoom refused a fresh access token")

    @staticmethod
    def _answer(response: Any) -> Any:
        status = response.status
        if status == 204:
            return None
        try:
            document = json.loads(response.data) if response.data else {}
        except ValueError:
            document = {}
        if 200 <= status < 300:
            return document
        code = document.get("code") if isinstance(document, dict) else None
        message = str(document.get("message", "")) if isinstance(document, dict) else ""
        details = document.get("errors") if isinstance(document, dict) else None
        if isinstance(details, list):  # a validation failure names its fields
            message += "".join(
                f" {d.get('field', '')}: {d.get('message', '')}"
                for d in details
                if isinstance(d, dict)
            )
        retry_after = response.headers.get("Retry-After")
        if status == 429:
            kind = "daily_limit" if "daily" in message.lower() else "rate_limited"
            raise ZoomFailure(
                kind, f"429 {code}", retry_after=float(retry_after) if retry_after else None
            )
        if status >= 500:
            raise ZoomFailure("unavailable", f"HTTP {status}")
        if code == 3043:
            raise ZoomFailure("full", f"{code}")
        if status == 401:
            raise ZoomFailure("auth", f"{code}")
        raise ZoomFailure("rejected", f"HTTP {status} code {code}: {message[:200]}")

    @staticmethod
    def _path(kind: str, zoom_id: str) -> str:
        return f"/{'webinars' if kind == 'webinar' else 'meetings'}/{zoom_id}"

    def add(self, kind: str, zoom_id: str, person: dict[str, str]) -> ZoomRegistrant:
        body = {**person, "auto_approve": True} if kind == "meeting" else dict(person)
        answer = self._call("light", "POST", f"{self._path(kind, zoom_id)}/registrants", body)
        return ZoomRegistrant(
            email=person["email"],
            registrant_id=answer["registrant_id"],
            join_url=answer["join_url"],
        )

    def add_many(
        self, kind: str, zoom_id: str, people: list[dict[str, str]]
    ) -> list[ZoomRegistrant]:
        body: dict[str, Any] = {"auto_approve": True, "registrants": people}
        if kind == "meeting":
            body["registrants_confirmation_email"] = False
        answer = self._call("heavy", "POST", f"{self._path(kind, zoom_id)}/batch_registrants", body)
        return [
            ZoomRegistrant(r["email"], r["registrant_id"], r["join_url"])
            for r in answer.get("registrants", [])
        ]

    def registrants(
        self, kind: str, zoom_id: str, page_token: str = ""
    ) -> tuple[list[ZoomRegistrant], str]:
        query = {"status": "approved", "page_size": 300}
        if page_token:
            query["next_page_token"] = page_token
        answer = self._call(
            "medium", "GET", f"{self._path(kind, zoom_id)}/registrants", query=query
        )
        found = [
            ZoomRegistrant(r.get("email", ""), r.get("id", ""), r.get("join_url", ""))
            for r in answer.get("registrants", [])
        ]
        return found, answer.get("next_page_token") or ""

    def cancel(self, kind: str, zoom_id: str, registrants: list[ZoomRegistrant]) -> None:
        body = {
            "action": "cancel",
            "registrants": [
                {"id": r.registrant_id, **({"email": r.email} if r.email else {})}
                for r in registrants
                if r.registrant_id
            ],
        }
        self._call("light", "PUT", f"{self._path(kind, zoom_id)}/registrants/status", body)

    # -- interpretation and panelists ------------------------------------------------

    def set_interpretation(
        self, kind: str, zoom_id: str, interpretation: ZoomInterpretation
    ) -> None:
        interpreters = []
        for interpreter in interpretation.interpreters:
            first, second = interpreter.languages
            if first in BUILT_IN_LANGUAGES and second in BUILT_IN_LANGUAGES:
                # The older form, which every account takes.
                codes = f"{BUILT_IN_LANGUAGES[first]},{BUILT_IN_LANGUAGES[second]}"
                interpreters.append({"email": interpreter.email, "languages": codes})
            else:
                names = f"{first},{second}"
                interpreters.append({"email": interpreter.email, "interpreter_languages": names})
        body = {
            "settings": {
                "language_interpretation": {
                    "enable": interpretation.enable,
                    "interpreters": interpreters,
                }
            }
        }
        try:
            self._call("light", "PATCH", self._path(kind, zoom_id), body)
        except ZoomFailure as failure:
            named = _UNDEFINED_LANGUAGE.search(failure.reason)
            if failure.kind == "rejected" and named:
                language = named[1].strip()
                # A code of the older form, named as the organiser knows it.
                by_code = {code: name for name, code in BUILT_IN_LANGUAGES.items()}
                language = by_code.get(language, language)
                raise ZoomLanguageUndefined(
                    language, f"Zoom has no language {language!r}: {failure.reason}"
                ) from None
            raise

    def panelists(self, webinar_id: str) -> list[ZoomPanelist]:
        answer = self._call("medium", "GET", f"{self._path('webinar', webinar_id)}/panelists")
        return [
            ZoomPanelist(str(p.get("id", "")), p.get("email", ""), p.get("name", ""))
            for p in answer.get("panelists", [])
        ]

    def add_panelists(self, webinar_id: str, people: Sequence[dict[str, str]]) -> None:
        body = {"panelists": [{"name": p["name"], "email": p["email"]} for p in people]}
        self._call("medium", "POST", f"{self._path('webinar', webinar_id)}/panelists", body)

    def remove_panelist(self, webinar_id: str, panelist_id: str) -> None:
        path = f"{self._path('webinar', webinar_id)}/panelists/{quote(panelist_id, safe='')}"
        self._call("light", "DELETE", path)
