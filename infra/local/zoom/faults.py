"""The stand-in's injectable faults and Zoom's per-second rate limits.

:class:`Faults` is what ``standin.faults`` is: latency, 5xx before or after the work,
extra 429s, dropped or delayed webhooks and short token lifetimes, set at run time and
drawn (in ``server.ServerMixin._api`` and ``webhooks.WebhooksMixin._emit``) from the
stand-in's seeded ``random.Random``. :class:`RateLimitMixin` gives ``ZoomStandIn`` its
``rate_limits`` and the sliding one-second window per category that enforces them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

DEFAULT_RATE_LIMITS: dict[str, int] = {"light": 30, "medium": 20, "heavy": 10}

_HEADER_CATEGORY = {"light": "Light", "medium": "Medium", "heavy": "Heavy"}
_FIVE_XX = {
    500: "Internal Error.",
    502: "Bad Gateway.",
    503: "Service Temporarily Unavailable.",
}


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


class RateLimitMixin:
    """``ZoomStandIn.rate_limits`` and their enforcement (state created in ``standin.py``)."""

    _lock: threading.RLock
    _rate_limits: dict[str, int]

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
