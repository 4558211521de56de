"""``ZoomStandIn``: the parts mixed into one class, and the state they share.

Each part is a mixin holding the methods of one side of Zoom (``server``, ``oauth``,
``registrants``, ``settings``, ``panelists``, ``participants``, ``webhooks``, ``faults``,
``persistence``); this class
owns the configuration, the one lock (and its condition) every part takes, the seeded
``random.Random`` faults draw from and the data that ``reset`` forgets. A later part is
one more mixin here, with its state created in ``__init__`` or ``_reset_data``.
"""

from __future__ import annotations

import random
import secrets
import socket
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from typing import Any

from .faults import Faults, RateLimitMixin
from .oauth import OAuthMixin
from .panelists import PanelistsMixin
from .participants import ParticipantsMixin
from .persistence import PersistenceMixin
from .registrants import RegistrantsMixin, _Session
from .server import ServerMixin, _Server
from .settings import SettingsMixin
from .webhooks import DEFAULT_WEBHOOK_RETRY_DELAYS, WebhooksMixin


class ZoomStandIn(
    ServerMixin,
    OAuthMixin,
    RegistrantsMixin,
    SettingsMixin,
    PanelistsMixin,
    ParticipantsMixin,
    WebhooksMixin,
    RateLimitMixin,
    PersistenceMixin,
):
    """Zoom's registrant, settings and panelist API and webhooks for one account, on loopback."""

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
        custom_languages: set[str] | None = None,
        token_lifetime: int = 3600,
        seed: int = 0,
        webhook_retry_delays: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_DELAYS,
        clock: Callable[[], float] = time.time,
        join_base: str | None = None,
    ) -> None:
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret_token = webhook_secret_token
        self.capacity = capacity
        # Where join URLs point (e.g. "https://us06web.zoom.us"); ``base_url`` when None.
        self.join_base = join_base
        # The account's custom interpretation languages (made in Zoom's web portal).
        self._custom_languages: set[str] = set(custom_languages or ())
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

    # resetting -------------------------------------------------------------------

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
