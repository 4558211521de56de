"""Events and their sessions: the organiser's configuration and the rules it implies.

An :class:`Event` is what ``PUT /events/{id}`` stores. Its public view is what a
registration form needs; Zoom ids, join URLs, sender and capacity stay private.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.networks import MOST_NETWORKS
from chalicelib.domain.text import TextError, clean_text
from chalicelib.domain.zones import is_time_zone

LANGUAGES: tuple[str, ...] = ("ar", "en", "tr", "fr", "es", "ur", "ms")
RTL_LANGUAGES = frozenset({"ar", "ur"})
# Patterns are matched with fullmatch() (``$`` alone would accept a trailing newline).
EVENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
SESSION_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_DURATION = re.compile(r"P(?:([0-9]{1,3})D)?(?:T(?:([0-9]{1,4})H)?(?:([0-9]{1,5})M)?)?")
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
# https, or http on loopback only (local mode's stand-in for Zoom).
_JOIN_URL = re.compile(
    r"(https://|http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?/)[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]{1,2000}"
)
_ZOOM_ID = re.compile(r"[0-9]{9,12}")
# Times outside these years are typing mistakes, and beyond them dates overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_SESSIONS = 100
MAX_TITLE = 300
MAX_BLOCKED = 5_000
MAX_BLOCKED_TEXT = 100_000


def utc_text(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``, the API's one time format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of days, hours and minutes (``P1D``, ``PT1H``, ``PT30M``)."""
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(text)
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _custom(code: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error; ``field`` names the sub-field when raised by a model check."""
    return PydanticCustomError(code, message, {"field": field} if field else None)


def _check_text(value: str, max_length: int) -> str:
    try:
        cleaned = clean_text(value, max_length=max_length)
    except TextError as error:
        raise _custom(error.code, error.message) from None
    assert cleaned is not None
    return cleaned


Title = dict[str, str]


def _check_title(value: Title) -> Title:
    if not value:
        raise _custom("required", "A title needs at least one language.")
    checked = {}
    for language, text in value.items():
        if language not in LANGUAGES:
            raise _custom("unknown_language", f"Unknown language {language!r}.")
        checked[language] = _check_text(text, MAX_TITLE)
    return checked


def _check_languages(value: list[str]) -> list[str]:
    """Languages of ours, each once."""
    for language in value:
        if language not in LANGUAGES:
            raise _custom("unknown_language", f"Languages are {', '.join(LANGUAGES)}.")
    if len(set(value)) != len(value):
        raise _custom("duplicate", "A language is listed twice.")
    return value


def _checked_address(value: str) -> str:
    try:
        return parse_address(value).ascii
    except TextError as error:
        raise _custom(error.code, error.message) from None


def _check_zone(value: str) -> str:
    if not is_time_zone(value):
        raise _custom("invalid_timezone", "Not a known IANA time zone name.")
    return value


def _to_utc(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise _custom("out_of_range", "Use a time between the years 2000 and 2100.")
    return value.astimezone(UTC)


class _Strict(BaseModel):
    # Validators are built on first use, not at import: cold starts stay short.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def meeting_key(kind: str, zoom_id: str) -> str:
    return f"{kind}:{zoom_id}"


class ZoomLink(_Strict):
    type: Literal["meeting", "webinar"]
    id: str

    @property
    def key(self) -> str:
        """The meeting or webinar, as a registrant's records name it."""
        return meeting_key(self.type, self.id)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        # Zoom ids exceed 32 bits; JSON numbers are accepted and kept as text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("id")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not _ZOOM_ID.fullmatch(value):
            raise _custom("invalid_zoom_id", "A Zoom meeting or webinar id is 9 to 12 digits.")
        return value


ZOOM_REGISTRANTS_MAX = 4_999  # a meeting's registrants (Zoom's error 3043 beyond)
WEBINAR_CAPACITY_MAX = 10_000  # the largest webinar licence
INTERPRETERS_MAX = 20  # Zoom's limit per meeting or webinar
MAX_ROOMS = 20
MAX_SPEAKERS = 50
WATCH = "watch"  # the key of a session's watch room (its live stream page)


class Room(_Strict):
    """Where a session's registrants are seated: a Zoom meeting or webinar holding at
    most ``capacity`` registrants, or a page to watch it from (no registrants, no cap).
    A session's rooms are filled in order."""

    zoom: ZoomLink | None = None
    # A Zoom room's shared join URL, for whoever has no registrant of their own yet.
    join_url: str | None = None
    capacity: Annotated[int, Field(strict=True, ge=1, le=WEBINAR_CAPACITY_MAX)] | None = None
    watch_url: str | None = None
    label: Title = {}

    @field_validator("join_url", "watch_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not _JOIN_URL.fullmatch(value):
            raise _custom("invalid_url", "A room's address must be an https:// address.")
        return value

    @field_validator("label")
    @classmethod
    def _label(cls, value: Title) -> Title:
        return _check_title(value) if value else {}

    @model_validator(mode="after")
    def _one_kind(self) -> Room:
        if (self.zoom is None) == (self.watch_url is None):
            raise _custom(
                "invalid_room", "A room has either a zoom meeting or webinar, or a watch_url."
            )
        if self.watch_url is not None and (self.capacity is not None or self.join_url):
            raise _custom(
                "invalid_room", "A watch_url room has no capacity and no join_url.", "capacity"
            )
        if self.zoom is not None and self.capacity is None:
            raise _custom("required", "A Zoom room needs its capacity.", "capacity")
        if (
            self.zoom is not None
            and self.zoom.type == "meeting"
            and (self.capacity or 0) > ZOOM_REGISTRANTS_MAX
        ):
            raise _custom(
                "too_large",
                f"A Zoom meeting takes at most {ZOOM_REGISTRANTS_MAX:,} registrants.",
                "capacity",
            )
        return self

    @property
    def key(self) -> str:
        """The room as a registration names it: its meeting or webinar, or ``watch``."""
        return self.zoom.key if self.zoom is not None else WATCH


class Interpreter(_Strict):
    email: str
    languages: Annotated[list[str], Field(min_length=2, max_length=2)]

    _address = field_validator("email")(lambda cls, v: _checked_address(v))

    @field_validator("languages")
    @classmethod
    def _pair(cls, value: list[str]) -> list[str]:
        if len(set(value)) < len(value):
            raise _custom("duplicate", "An interpreter works between two different languages.")
        return _check_languages(value)


class Interpretation(_Strict):
    """Simultaneous interpretation of a session: spoken in ``from``, interpreted into
    each of ``into`` (Zoom's language channels), by ``interpreters``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        defer_build=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    source: str = Field(alias="from")
    into: Annotated[list[str], Field(min_length=1, max_length=len(LANGUAGES) - 1)]
    interpreters: Annotated[list[Interpreter], Field(max_length=INTERPRETERS_MAX)] = []

    _source = field_validator("source")(lambda cls, v: _check_languages([v])[0])
    _into = field_validator("into")(lambda cls, v: _check_languages(v))

    @model_validator(mode="after")
    def _consistent(self) -> Interpretation:
        if self.source in self.into:
            raise _custom(
                "invalid_language", "A session is not interpreted into its own language.", "into"
            )
        spoken = {self.source, *self.into}
        for i, interpreter in enumerate(self.interpreters):
            if not set(interpreter.languages) <= spoken:
                raise _custom(
                    "invalid_language",
                    "An interpreter's languages are the session's language and those it is "
                    "interpreted into.",
                    f"interpreters.{i}.languages",
                )
        return self

    def offers(self, language: str) -> bool:
        """Whether someone who speaks ``language`` can follow the session in it."""
        return language == self.source or language in self.into


class Speaker(_Strict):
    name: str
    email: str

    _name = field_validator("name")(lambda cls, v: _check_text(v, 200))
    _address = field_validator("email")(lambda cls, v: _checked_address(v))


class Session(_Strict):
    id: str
    title: Title
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    zoom: ZoomLink | None = None
    join_url: str | None = None
    # A cancelled session stays listed (its registrants were told), and takes nobody new.
    status: Literal["scheduled", "cancelled"] = "scheduled"
    # Several rooms, filled in order (instead of ``zoom``, which is one room).
    rooms: Annotated[list[Room], Field(max_length=MAX_ROOMS)] = []
    interpretation: Interpretation | None = None
    # They speak in the session's webinar rooms as panelists, never as registrants.
    speakers: Annotated[list[Speaker], Field(max_length=MAX_SPEAKERS)] = []
    # Set after the session: campaigns may link to it ({{recording_url}}).
    recording_url: str | None = None

    @field_validator("id")
    @classmethod
    def _session_id(cls, value: str) -> str:
        if not SESSION_ID.fullmatch(value):
            raise _custom("invalid_id", "Session ids are 1-32 of a-z, 0-9 and '-'.")
        return value

    _title = field_validator("title")(lambda cls, v: _check_title(v))
    _utc = field_validator("starts_at", "ends_at")(lambda cls, v: _to_utc(v))

    @field_validator("join_url", "recording_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not _JOIN_URL.fullmatch(value):
            raise _custom("invalid_url", "A join URL must be an https:// address.")
        return value

    @model_validator(mode="after")
    def _order(self) -> Session:
        if self.ends_at <= self.starts_at:
            raise _custom("invalid_times", "A session must end after it starts.", "ends_at")
        if self.rooms and (self.zoom is not None or self.join_url is not None):
            raise _custom(
                "invalid_rooms",
                "A session has either rooms, or one zoom meeting (and join_url): not both.",
                "rooms",
            )
        keys = [room.key for room in self.rooms]
        if len(set(keys)) != len(keys):
            raise _custom("duplicate", "Two rooms of the session are the same.", "rooms")
        if WATCH in keys[:-1]:
            raise _custom("invalid_rooms", "A watch_url room has no cap: it comes last.", "rooms")
        return self

    @property
    def zoom_links(self) -> list[ZoomLink]:
        """Every Zoom meeting or webinar of the session (its rooms', or its one)."""
        if self.rooms:
            return [room.zoom for room in self.rooms if room.zoom is not None]
        return [self.zoom] if self.zoom is not None else []

    @property
    def has_zoom(self) -> bool:
        return bool(self.zoom_links)

    def room(self, key: str | None) -> Room | None:
        return next((room for room in self.rooms if room.key == key), None)

    def title_in(self, language: str, default_language: str) -> str:
        return self.title.get(language) or self.title[default_language]

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def overlaps(self, other: Session) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


class Window(_Strict):
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None

    _utc = field_validator("opens_at", "closes_at")(
        lambda cls, v: None if v is None else _to_utc(v)
    )

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise _custom("invalid_times", "Registration must close after it opens.", "closes_at")
        return self


class Sender(_Strict):
    email: str
    name: str

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return parse_address(value).ascii
        except TextError as error:
            raise _custom(error.code, error.message) from None

    _name = field_validator("name")(lambda cls, v: _check_text(v, 100))


class Event(_Strict):
    """An event as configured by its organisers (``PUT /events/{id}`` body plus id)."""

    id: str
    title: Title
    languages: Annotated[list[str], Field(min_length=1, max_length=len(LANGUAGES))]
    default_language: str
    timezone: str
    display_timezones: Annotated[list[str], Field(max_length=5)] = []
    capacity: Annotated[int, Field(strict=True, ge=0, le=10_000_000)] | None = None
    # No window, always open: constructed, not validated (it has nothing to check), so
    # that importing this module builds no validator.
    registration: Window = Window.model_construct()
    sender: Sender
    reply_to: str | None = None
    sessions: Annotated[list[Session], Field(min_length=1, max_length=MAX_SESSIONS)]
    reminders: Annotated[list[str], Field(max_length=10)] = []
    allowed_origins: Annotated[list[str], Field(max_length=20)] = []
    # Addresses and domains whose registrations are answered as if accepted, and not
    # stored (domain/screening.py); and whether disposable-address domains are refused.
    blocked: Annotated[list[str], Field(max_length=MAX_BLOCKED)] = []
    # Double opt-in: a registration waits for the person to confirm it from their email
    # (for this many hours) before it takes a seat.
    double_opt_in: bool = False
    opt_in_hours: Annotated[int, Field(strict=True, ge=1, le=168)] = 24
    refuse_disposable: bool = False
    # Registrations carry a solved proof of work (chalicelib/challenges.py): the forms
    # show ALTCHA's tick box, and a script has to solve one per registration too.
    challenge: bool = False
    # New registrations a minute for the whole event, on top of each address's limit.
    registrations_per_minute: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] = 3_000
    # A registrant's join links opened from more client networks than this are flagged
    # as shared (domain/networks.py).
    shared_link_networks: Annotated[int, Field(strict=True, ge=1, le=MOST_NETWORKS - 1)] = 4
    # Country names as this event's audience says them: {"PS": {"ar": "فلسطين"}}.
    country_names: Annotated[dict[str, dict[str, str]], Field(max_length=300)] = {}
    # Set by Majlis: how many times the event was saved (its calendar entries' SEQUENCE
    # rises with it). Organisers do not send it.
    revision: Annotated[int, Field(ge=0)] = 0

    _title = field_validator("title")(lambda cls, v: _check_title(v))
    _zone = field_validator("timezone")(lambda cls, v: _check_zone(v))

    @field_validator("id")
    @classmethod
    def _event_id(cls, value: str) -> str:
        if not EVENT_ID.fullmatch(value):
            raise _custom("invalid_id", "Event ids are 3-64 of a-z, 0-9 and '-'.")
        return value

    _languages = field_validator("languages")(lambda cls, v: _check_languages(v))

    @field_validator("display_timezones")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        return [_check_zone(zone) for zone in value]

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_address(value).ascii
        except TextError as error:
            raise _custom(error.code, error.message) from None

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                offset = parse_duration(text)
            except ValueError:
                raise _custom(
                    "invalid_duration", "Reminders are ISO 8601 durations such as P1D or PT1H."
                ) from None
            if not timedelta(minutes=5) <= offset <= timedelta(days=30):
                raise _custom("invalid_duration", "Reminders are 5 minutes to 30 days ahead.")
        if len(set(value)) != len(value):
            raise _custom("duplicate", "A reminder is listed twice.")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise _custom("invalid_origin", "Origins look like https://conference.example.org.")
        return value

    @field_validator("blocked")
    @classmethod
    def _blocked(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if (info.context or {}).get("stored"):
            return value  # checked when saved: an event is read far more often
        from chalicelib.domain.screening import blocked_entry

        kept: dict[str, None] = {}
        for i, entry in enumerate(value):
            try:
                kept[blocked_entry(entry)] = None
            except TextError as error:
                raise _custom(error.code, error.message, str(i)) from None
        if sum(map(len, kept)) > MAX_BLOCKED_TEXT:  # the event is one item of 400 KB at most
            raise _custom("too_long", f"Block at most {MAX_BLOCKED_TEXT:,} characters in all.")
        return list(kept)

    @field_validator("country_names")
    @classmethod
    def _country_names(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from chalicelib.domain.countries import COUNTRY_CODES

        cleaned: dict[str, dict[str, str]] = {}
        for code, names in value.items():
            if code not in COUNTRY_CODES:
                raise _custom("invalid_country", "Use two-letter ISO 3166-1 country codes.")
            cleaned[code] = {}
            for language, name in names.items():
                if language not in LANGUAGES:
                    raise _custom("unknown_language", f"Languages are {', '.join(LANGUAGES)}.")
                cleaned[code][language] = _check_text(name, 100)
        return cleaned

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        if self.default_language not in self.languages:
            raise _custom(
                "invalid_default_language",
                "default_language must be one of languages.",
                "default_language",
            )
        for where, title in [("title", self.title)] + [
            (f"sessions.{i}.title", s.title) for i, s in enumerate(self.sessions)
        ]:
            if self.default_language not in title:
                raise _custom(
                    "missing_default_title",
                    f"A title needs the default language ({self.default_language}).",
                    where,
                )
            extra = set(title) - set(self.languages)
            if extra:
                offered = ", ".join(sorted(extra))
                raise _custom(
                    "unknown_language",
                    f"The title has languages the event does not offer: {offered}.",
                    where,
                )
        ids = [s.id for s in self.sessions]
        if len(set(ids)) != len(ids):
            raise _custom("duplicate", "Two sessions have the same id.", "sessions")
        meetings = [link.id for s in self.sessions for link in s.zoom_links]
        if len(set(meetings)) != len(meetings):
            raise _custom(
                "duplicate", "A Zoom meeting or webinar is a room of one session only.", "sessions"
            )
        return self

    # -- rules -------------------------------------------------------------------

    @property
    def time_zones(self) -> list[str]:
        """The zones times are announced in: the display zones, else the event's own."""
        return self.display_timezones or [self.timezone]

    def registration_open(self, now: datetime) -> bool:
        window = self.registration
        if window.opens_at and now < window.opens_at:
            return False
        return not (window.closes_at and now >= window.closes_at)

    def blocks(self, address_key: str) -> bool:
        """Whether this event blocks the address (its :class:`Address` key)."""
        from chalicelib.domain.screening import is_blocked

        return is_blocked(self.blocked, address_key)

    def session(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    @property
    def session_ids(self) -> list[str]:
        return [s.id for s in self.sessions]

    @property
    def open_session_ids(self) -> list[str]:
        """The sessions one may choose: every one not cancelled."""
        return [s.id for s in self.sessions if not s.cancelled]

    def slots(self) -> list[list[Session]]:
        """The sessions one may choose, in time slots, in order of start: sessions that
        all overlap one another are alternatives, one slot (choose one). Sessions that
        overlap only through another (10-12, 11-13, 12:30-14) are slots of one each: the
        first and the last may be held together, and :meth:`clashes` says which not."""
        groups: list[list[Session]] = []
        group_end: datetime | None = None
        for session in sorted(
            (s for s in self.sessions if not s.cancelled), key=lambda s: s.starts_at
        ):
            if groups and group_end is not None and session.starts_at < group_end:
                groups[-1].append(session)
                group_end = max(group_end, session.ends_at)
            else:
                groups.append([session])
                group_end = session.ends_at
        slots: list[list[Session]] = []
        for group in groups:
            if all(a.overlaps(b) for i, a in enumerate(group) for b in group[i + 1 :]):
                slots.append(group)
            else:
                slots += [[session] for session in group]
        return slots

    @property
    def has_parallel_sessions(self) -> bool:
        """Whether some sessions one may choose overlap (all of them cannot be held)."""
        return bool(self.clashes(self.open_session_ids))

    def clashes(self, session_ids: list[str]) -> list[tuple[str, str]]:
        """Pairs of the given sessions that overlap in time, in the event's order."""
        chosen = [s for s in self.sessions if s.id in set(session_ids)]
        return [
            (a.id, b.id) for i, a in enumerate(chosen) for b in chosen[i + 1 :] if a.overlaps(b)
        ]

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title[self.default_language]

    def public_view(self, now: datetime) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "languages": self.languages,
            "default_language": self.default_language,
            "timezone": self.timezone,
            "display_timezones": self.time_zones,
            "registration_open": self.registration_open(now),
            "challenge": self.challenge,  # the form solves GET …/challenge first
            "sessions": [
                {
                    "id": s.id,
                    "title": s.title,
                    "starts_at": utc_text(s.starts_at),
                    "ends_at": utc_text(s.ends_at),
                    "status": s.status,
                }
                for s in self.sessions
            ],
            # Sessions that overlap in time are alternatives: choose one of each slot.
            "slots": [[s.id for s in slot] for slot in self.slots()],
        }

    def organizer_view(self) -> dict:
        data = self.model_dump(mode="json", exclude_none=True)
        data["registration"] = {
            key: utc_text(value)
            for key, value in (
                ("opens_at", self.registration.opens_at),
                ("closes_at", self.registration.closes_at),
            )
            if value
        }
        for session, dumped in zip(self.sessions, data["sessions"], strict=True):
            dumped["starts_at"] = utc_text(session.starts_at)
            dumped["ends_at"] = utc_text(session.ends_at)
        return data
