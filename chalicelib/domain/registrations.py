"""Registrations: the form a person sends, the record we keep, and the seat rules.

Seat rules (one place, shared by the DynamoDB condition and the in-memory fake):

- with no capacity every registration is ``registered``;
- otherwise a person gets a seat only while seats are free *and nobody is waiting*
  (so a newcomer never jumps the waiting list while a promotion is pending);
- everyone else joins the waiting list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chalicelib.domain import attendance
from chalicelib.domain.addresses import Address, parse_address
from chalicelib.domain.countries import COUNTRY_CODES
from chalicelib.domain.events import Event, utc_text
from chalicelib.domain.text import TextError, clean_text
from chalicelib.domain.zones import is_time_zone

MAX_NAME = 100


class Status(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    # On a double opt-in event, until the person follows the link emailed to them:
    # no seat, no Zoom registrant, no announcement; forgotten when it expires.
    PENDING = "pending"

    @property
    def seat(self) -> str | None:
        """The seat counter this status takes a place in, if any."""
        return {Status.REGISTERED: "registered", Status.WAITLISTED: "waitlisted"}.get(self)


class EmailStatus(StrEnum):
    OK = "ok"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class Seats:
    """The event's seat counter as stored beside its registrations."""

    registered: int = 0
    waitlisted: int = 0
    cancelled: int = 0


def seat_free(seats: Seats, capacity: int | None) -> bool:
    if capacity is None:
        return True
    return seats.registered < capacity and seats.waitlisted == 0


def _error(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


def _event(info: ValidationInfo) -> Event:
    return info.context["event"]


def _check_language(value: str | None, info: ValidationInfo) -> str | None:
    if value is not None and value not in _event(info).languages:
        offered = ", ".join(_event(info).languages)
        raise _error("invalid_language", f"This event is offered in: {offered}.")
    return value


def _check_timezone(value: str | None) -> str | None:
    if value is not None and not is_time_zone(value):
        raise _error("invalid_timezone", "Use an IANA time zone name such as Europe/Istanbul.")
    return value


def _check_sessions(value: list[str] | None, info: ValidationInfo) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise _error("required", "Choose at least one session.")
    event = _event(info)
    known = event.session_ids
    for session_id in value:
        if session_id not in known:
            raise _error("unknown_session", f"Unknown session {session_id!r}.")
        if event.session(session_id).cancelled:  # type: ignore[union-attr]
            raise _error("cancelled_session", f"The session {session_id!r} is cancelled.")
    if len(set(value)) != len(value):
        raise _error("duplicate", "A session is listed twice.")
    clashes = event.clashes(value)
    if clashes:
        first, second = clashes[0]
        raise _error(
            "overlapping_sessions",
            f"The sessions {first!r} and {second!r} are at the same time: choose one.",
        )
    # Keep the event's order, whatever order the form sent.
    return [s for s in known if s in value]


def _choose_per_slot(sessions: list[str] | None, info: ValidationInfo) -> None:
    """No sessions named on an event with parallel sessions: all of them cannot be meant."""
    if sessions is None and _event(info).has_parallel_sessions:
        raise PydanticCustomError(
            "choose_per_slot",
            "Some sessions are at the same time: choose one session for each time slot.",
            {"field": "sessions"},
        )


class RegistrationForm(BaseModel):
    """The body of ``POST /events/{id}/registrations``, validated against its event.

    Validate with ``RegistrationForm.model_validate(body, context={"event": event})``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    email: StrictStr
    first_name: StrictStr
    last_name: StrictStr | None = None
    country: StrictStr
    language: StrictStr | None = None
    timezone: StrictStr | None = None
    sessions: list[StrictStr] | None = None
    consent: StrictBool
    updates: StrictBool = True
    website: StrictStr | None = None  # the honeypot: checked before validation
    altcha: StrictStr | None = None  # a proof of work's solution (chalicelib/challenges.py)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str, info: ValidationInfo) -> str:
        try:
            address = parse_address(value)
        except TextError as error:
            raise _error(error.code, error.message) from None
        if _event(info).refuse_disposable:
            from chalicelib.domain.screening import is_disposable

            if is_disposable(address.key):
                raise _error(
                    "disposable_address",
                    "This event does not accept addresses from disposable-mail services. "
                    "Please use an address you keep.",
                )
        return value.strip()

    @field_validator("first_name", "last_name")
    @classmethod
    def _name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return clean_text(value, max_length=MAX_NAME, required=info.field_name == "first_name")
        except TextError as error:
            raise _error(error.code, error.message) from None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.strip()
        # ASCII first: upper() would turn "ß" into "SS" (South Sudan).
        code = code.upper() if code.isascii() else code
        if code not in COUNTRY_CODES:
            raise _error("invalid_country", "Use a two-letter ISO 3166-1 country code.")
        return code

    _language = field_validator("language")(_check_language)
    _timezone = field_validator("timezone")(_check_timezone)
    _sessions = field_validator("sessions")(_check_sessions)

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise _error("consent_required", "Consent is required to register.")
        return value

    @model_validator(mode="after")
    def _sessions_chosen(self, info: ValidationInfo) -> RegistrationForm:
        _choose_per_slot(self.sessions, info)
        return self

    @property
    def address(self) -> Address:
        return parse_address(self.email)


class Registration(BaseModel):
    """One person's registration for one event, as stored."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    registration_id: str
    event_id: str
    email: str
    email_key: str
    first_name: str
    last_name: str | None = None
    country: str | None = None
    language: str
    timezone: str
    sessions: list[str]
    status: Status
    source: str = "form"
    updates: bool = True
    email_status: EmailStatus = EmailStatus.OK
    soft_bounces: int = 0
    zoom: dict[str, dict[str, str]] = {}  # session id -> registrant_id, join_url, meeting
    # session id -> {"state": sending|synced|full|deferred|failed|cancelled, "reason", "at"}
    zoom_sync: dict[str, dict[str, str]] = {}
    zoom_tries: dict[str, int] = {}  # "<session>@<UTC day>" -> add requests sent to Zoom
    attended: dict[str, str] = {}  # session id -> first join time reported by Zoom
    attended_last: dict[str, str] = {}  # session id -> last join time reported by Zoom
    # session id -> the key of the room the person is seated in (domain/rooms.py), for
    # the sessions that have rooms.
    rooms: dict[str, str] = {}
    # session id -> {"first": time, "last": time} of join-link clicks; one (empty) map per
    # chosen session, so a click is one update.
    clicks: dict[str, dict[str, datetime]] = {}
    created_at: datetime
    updated_at: datetime
    # Bumped to revoke every link of this registration at once.
    link_version: int = 1
    # Raised whenever the registrant is owed an email; the mail worker sends one email
    # per value, whatever the number of times the job reaches it.
    mail_seq: int = 1
    mail_reason: str = "created"  # created, resend, promoted, updated, cancelled
    mail_requested_at: datetime
    # Sessions the next email must take out of the registrant's calendar (METHOD:CANCEL).
    calendar_cancel: list[str] = []
    # When the organisers erased the personal data (email, names): only counts remain.
    erased_at: datetime | None = None
    # A pending registration's end: its confirm link expires, and it is deleted.
    expires_at: datetime | None = None
    # Keyed hashes of the client networks the join links were opened from (at most
    # MOST_NETWORKS), and whether they are more than the event expects of one person.
    networks: list[str] = []
    link_shared: bool = False

    @classmethod
    def new(
        cls, registration_id: str, event: Event, form: RegistrationForm, now: datetime
    ) -> Registration:
        address = form.address
        return cls(
            registration_id=registration_id,
            event_id=event.id,
            email=address.as_given,
            email_key=address.key,
            first_name=form.first_name,
            last_name=form.last_name,
            country=form.country,
            language=form.language or event.default_language,
            timezone=form.timezone or event.timezone,
            sessions=form.sessions or event.open_session_ids,
            clicks={s: {} for s in form.sessions or event.open_session_ids},
            status=Status.PENDING if event.double_opt_in else Status.REGISTERED,
            updates=form.updates,
            created_at=now,
            updated_at=now,
            mail_requested_at=now,
            expires_at=now + timedelta(hours=event.opt_in_hours) if event.double_opt_in else None,
        )

    def admits(self, session_id: str, version: int) -> bool:
        """Whether a join link of ``session_id`` at link ``version`` may be followed."""
        return (
            self.status is Status.REGISTERED
            and self.link_version == version
            and session_id in self.sessions
            and session_id in self.clicks
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def organizer_view(self) -> dict[str, Any]:
        return {
            "registration_id": self.registration_id,
            "event_id": self.event_id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "country": self.country,
            "language": self.language,
            "timezone": self.timezone,
            "sessions": self.sessions,
            "status": self.status.value,
            "source": self.source,
            "updates": self.updates,
            "email_status": self.email_status.value,
            "room": self.rooms,
            "zoom": self.zoom,
            "zoom_sync": self.zoom_sync,
            "attended": self.attended,
            "attended_last": self.attended_last,
            "link_shared": self.link_shared,
            "clicks": {
                session: {moment: utc_text(at) for moment, at in times.items()}
                for session, times in self.clicks.items()
                if times
            },
            "created_at": utc_text(self.created_at),
            "updated_at": utc_text(self.updated_at),
            **({"erased_at": utc_text(self.erased_at)} if self.erased_at else {}),
        }


class RegistrationChanges(BaseModel):
    """What a registrant may change on their own page; validate with the event as context."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    language: StrictStr | None = None
    timezone: StrictStr | None = None
    sessions: list[StrictStr] | None = None

    _language = field_validator("language")(_check_language)
    _timezone = field_validator("timezone")(_check_timezone)
    _sessions = field_validator("sessions")(_check_sessions)

    def applied_to(self, registration: Registration) -> dict[str, Any]:
        """The fields that actually change (empty: nothing to do)."""
        changed: dict[str, Any] = {}
        for name in ("language", "timezone", "sessions"):
            value = getattr(self, name)
            if value is not None and value != getattr(registration, name):
                changed[name] = value
        return changed


@dataclass(frozen=True)
class RegistrationFilter:
    """What an organiser can filter an event's registrations by."""

    status: frozenset[Status] = frozenset()
    languages: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    sessions: frozenset[str] = frozenset()
    # (session, True): those who came to it; (session, False): those registered for it
    # who did not (domain/attendance.py).
    attended: tuple[str, bool] | None = None
    # (session, room key): those seated in that room of that session.
    room: tuple[str, str] | None = None

    def matches(self, registration: Registration) -> bool:
        return (
            (self.room is None or registration.rooms.get(self.room[0]) == self.room[1])
            and (not self.status or registration.status in self.status)
            and (not self.languages or registration.language in self.languages)
            and (not self.countries or registration.country in self.countries)
            and (not self.sessions or bool(self.sessions.intersection(registration.sessions)))
            and (
                self.attended is None
                or (attendance.attended if self.attended[1] else attendance.missed)(
                    registration, self.attended[0]
                )
            )
        )
