"""Webhooks: building events, signing them (:func:`sign`) and delivering them.

:class:`WebhooksMixin` gives ``ZoomStandIn`` its ``webhook_url``; the events it produces
(``_emit``, called with the lock held by the registrant handlers and by
``participants.ParticipantsMixin.join``); a background delivery thread (``_deliver_loop``,
started by ``server.ServerMixin.start``) that posts each event signed over the exact raw
bytes sent, waits ``WEBHOOK_TIMEOUT`` seconds for an answer and retries on 5xx or no
answer (``webhook_retry_delays``), never on 4xx; the records tests read (``events``,
``webhooks_sent``, ``webhooks_dropped``, ``delivered``, ``wait_for_webhooks``); and Zoom's
``endpoint.url_validation`` check (``validate_endpoint``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .faults import Faults

if TYPE_CHECKING:
    from .registrants import _Session

WEBHOOK_TIMEOUT = 3.0  # Zoom waits 3 s for a webhook's answer
DEFAULT_WEBHOOK_RETRY_DELAYS = (1.0, 5.0, 15.0)  # Zoom: 3 retries over ~90 minutes
OPERATOR = "host@example.org"


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """Zoom's webhook signature: ``v0=`` + hex HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(key, message, hashlib.sha256).hexdigest()


class WebhooksMixin:
    """Webhook events and their delivery for ``ZoomStandIn`` (state created in ``standin.py``)."""

    account_id: str
    host_id: str
    webhook_secret_token: str
    webhook_retry_delays: tuple[float, ...]
    faults: Faults
    _lock: threading.RLock
    _cond: threading.Condition
    _clock: Callable[[], float]
    _random: random.Random
    _opener: urllib.request.OpenerDirector
    _webhook_url: str | None
    _stopping: bool
    _events: list[bytes]
    _sent: list[dict[str, Any]]
    _dropped: list[dict[str, Any]]
    _outbox: list[tuple[float, int, dict[str, Any]]]
    _pending: int
    _sequence: int

    # configuration ---------------------------------------------------------------

    @property
    def webhook_url(self) -> str | None:
        return self._webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"webhook_url must be http(s): {url!r}")
        with self._lock:
            self._webhook_url = url

    # observability ---------------------------------------------------------------

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

    # endpoint validation ---------------------------------------------------------

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

    # building, queueing and delivering -------------------------------------------

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
