"""Meetings and webinars and their registrants: the /v2 registrant endpoints' work.

:class:`RegistrantsMixin` gives ``ZoomStandIn`` its sessions (``add_session``,
``delete_session``, created on first use of a plausible id otherwise), adding one
registrant, batch adding, listing with ``next_page_token`` and status changes (approve,
cancel, deny), with Zoom's rules: 3 adds per registrant per UTC day, a capacity
(``self.capacity``, 4,999 by default, or a room's own smaller ``capacity`` given to
``add_session``; error 3043 when full), 30 per batch or status change. Join URLs
are ``/w/{id}?tk=…`` on ``join_base`` when one is given (a public Zoom origin), else on
``base_url``.
Handlers run with the lock held and raise :class:`~.common.ApiError` for Zoom's error
answers; each new registrant and each status change queues a webhook through
``webhooks.WebhooksMixin._emit``.

Per-session settings (capacity, interpretation, panelists, livestream) live on
``_Session``; their endpoints are parts of their own (``settings``, ``panelists``).
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .common import ApiError, Result, _invalid, _iso, _kind

DAILY_ADDS_PER_REGISTRANT = 3
BATCH_MAX = 30
STATUS_MAX = 30
PAGE_SIZE_DEFAULT = 30
PAGE_SIZE_MAX = 300
PAGE_TOKEN_LIFETIME = 15 * 60  # Zoom's next_page_token expires after 15 minutes
LISTABLE = ("approved", "pending", "denied")
ACTIONS = {"approve": "approved", "cancel": "cancelled", "deny": "denied"}
ACTION_EVENTS = {
    "approve": "registration_approved",
    "cancel": "registration_cancelled",
    "deny": "registration_denied",
}

_ZOOM_ID = re.compile(r"\d{9,12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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
    capacity: int | None = None  # this room's own cap (below the account's), if any
    settings: dict[str, Any] = field(default_factory=dict)  # as PATCHed (interpretation …)
    panelists: list[dict[str, Any]] = field(default_factory=list)  # webinars only
    livestream: dict[str, Any] = field(default_factory=dict)  # settings and ``status``

    @property
    def type(self) -> int:
        return 2 if self.kind == "meeting" else 5

    @property
    def label(self) -> str:
        return self.kind.capitalize()


class RegistrantsMixin:
    """Sessions and registrants of ``ZoomStandIn`` (state created in ``standin.py``)."""

    capacity: int
    base_url: str
    join_base: str | None
    _lock: threading.RLock
    _clock: Callable[[], float]
    _sessions: dict[tuple[str, str], _Session]
    _deleted: set[str]
    _attempts: dict[tuple[str, str, int], int]
    _join_tokens: dict[str, tuple[str, str, str]]
    _page_tokens: dict[str, dict[str, Any]]

    # configuration ---------------------------------------------------------------

    def add_session(
        self,
        kind: str,
        zoom_id: str,
        *,
        topic: str | None = None,
        start_time: str | None = None,
        duration: int = 120,
        approval_type: int = 0,
        capacity: int | None = None,
    ) -> None:
        """Configure a meeting or webinar (otherwise created on first use of its id);
        ``capacity``: it takes at most that many registrants (3043 beyond), fewer than
        the account's ``self.capacity`` allows."""
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
            session.capacity = capacity

    def delete_session(self, kind: str, zoom_id: str) -> None:
        """Make a meeting or webinar unknown: its endpoints answer 404 code 3001."""
        with self._lock:
            self._sessions.pop((_kind(kind), str(zoom_id)), None)
            self._deleted.add(str(zoom_id))

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

    # registrants -----------------------------------------------------------------

    @property
    def _join_origin(self) -> str:
        return (self.join_base or self.base_url).rstrip("/")

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

    def _limit(self, session: _Session) -> int:
        """How many registrants the session takes: the account's cap, or its own if lower."""
        if session.capacity is None:
            return self.capacity
        return min(self.capacity, session.capacity)

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
        if session.active >= self._limit(session):
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
            "join_url": f"{self._join_origin}/w/{session.zoom_id}?tk={token}",
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
        if session.active + len(new) > self._limit(session):
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
            if session.active + joining > self._limit(session):
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
