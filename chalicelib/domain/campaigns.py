"""Announcements (campaigns): the body organisers post, and their templates' rules.

Organisers write content per language with a few placeholders. The placeholders are
the whole template language: the content is checked token by token with Jinja2's own
lexer, and anything inside ``{{ }}``, ``{% %}`` or ``{# #}`` other than one allowed
name is refused when the campaign is created (422), never halfway through sending.
What passes is rendered in Jinja2's sandbox with autoescaping for HTML, so a value
such as a name with ``<script>`` in it stays text.
"""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    field_validator,
)

from chalicelib.domain.countries import COUNTRY_CODES
from chalicelib.domain.events import Event
from chalicelib.domain.programme import ProgrammeChange
from chalicelib.domain.registrations import EmailStatus, Registration, RegistrationFilter, Status
from chalicelib.domain.text import TextError, clean_text

PLACEHOLDERS = frozenset(
    {"first_name", "last_name", "manage_url", "join_links", "sessions", "recording_url"}
)


class CampaignStatus(StrEnum):
    SCHEDULED = "scheduled"  # stored, waiting for its fan-out (or its send_at)
    SENDING = "sending"  # the fan-out has started
    DONE = "done"  # every queued recipient is sent, failed, skipped or suppressed
    CANCELLED = "cancelled"
    FAILED = "failed"


# A campaign in one of these may still send.
ACTIVE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)

Subject = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


class Content(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    text: Body
    html: Body | None = None

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        try:
            return clean_text(value, max_length=300) or ""
        except TextError as error:
            raise ValueError(error.message) from None


class Attended(BaseModel):
    """Follow-up by attendance: ``value`` true, those who came to ``session`` (a join
    click or Zoom's join); false, those registered for it who did neither."""

    model_config = ConfigDict(extra="forbid")

    session: StrictStr
    value: StrictBool


class Audience(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[Status] = Field(default_factory=lambda: [Status.REGISTERED], max_length=3)
    languages: list[str] = Field(default_factory=list, max_length=50)
    countries: list[str] = Field(default_factory=list, max_length=300)
    sessions: list[str] = Field(default_factory=list, max_length=100)
    attended: Attended | None = None

    @field_validator("status")
    @classmethod
    def _not_pending(cls, value: list[Status]) -> list[Status]:
        if Status.PENDING in value:
            # They have not confirmed that they asked for anything: no announcements.
            raise ValueError("Pending registrations get no announcements.")
        return value

    def where(self) -> RegistrationFilter:
        return RegistrationFilter(
            # Empty: every status, but never the pending (they asked for nothing yet).
            status=frozenset(self.status or set(Status) - {Status.PENDING}),
            languages=frozenset(self.languages),
            countries=frozenset(c.upper() for c in self.countries),
            sessions=frozenset(self.sessions),
            attended=(self.attended.session, self.attended.value) if self.attended else None,
        )

    @property
    def one_session(self) -> str | None:
        """The session the audience is about, when it is one: the one its attendance
        is about, else its only ``sessions`` entry (where {{recording_url}} leads)."""
        if self.attended is not None:
            return self.attended.session
        return self.sessions[0] if len(self.sessions) == 1 else None


class CampaignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    audience: Audience = Field(default_factory=Audience)
    content: dict[str, Content] = Field(min_length=1, max_length=50)
    send_at: datetime | None = None
    dry_run: bool = False

    def problems(self, event: Event) -> list[tuple[str, str, str]]:
        """(field, code, message) for each way the campaign does not fit the event."""
        found: list[tuple[str, str, str]] = []
        if event.default_language not in self.content:
            found.append(
                (
                    "content",
                    "default_language_missing",
                    f"Content in the event's default language ({event.default_language}) "
                    "is required: it goes to everyone whose own language has none.",
                )
            )
        for language in self.content:
            if language not in event.languages:
                found.append(
                    (f"content.{language}", "unknown_language", "Not a language of the event.")
                )
        for index, language in enumerate(self.audience.languages):
            if language not in event.languages:
                found.append(
                    (
                        f"audience.languages.{index}",
                        "unknown_language",
                        "Not a language of the event.",
                    )
                )
        for index, country in enumerate(self.audience.countries):
            if country.upper() not in COUNTRY_CODES:
                found.append(
                    (
                        f"audience.countries.{index}",
                        "unknown_country",
                        "Not an ISO 3166 country code.",
                    )
                )
        sessions = {session.id for session in event.sessions}
        for index, session in enumerate(self.audience.sessions):
            if session not in sessions:
                found.append(
                    (f"audience.sessions.{index}", "unknown_session", "Not a session of the event.")
                )
        if self.audience.attended and self.audience.attended.session not in sessions:
            found.append(
                ("audience.attended.session", "unknown_session", "Not a session of the event.")
            )
        recording: str | None = None  # the first field that uses {{recording_url}}
        for language, content in self.content.items():
            for part in ("subject", "text", "html"):
                source = getattr(content, part)
                problems = template_problems(source or "")
                for message in problems:
                    found.append((f"content.{language}.{part}", "template", message))
                if (
                    recording is None
                    and not problems
                    and "recording_url" in placeholders(source or "")
                ):
                    recording = f"content.{language}.{part}"
        if recording is not None:
            found.extend(self._recording_problems(event, recording))
        return found

    def _recording_problems(self, event: Event, field: str) -> list[tuple[str, str, str]]:
        """{{recording_url}} needs one session, and that session's recording."""
        session_id = self.audience.one_session
        if session_id is None:
            return [
                (
                    field,
                    "recording_needs_one_session",
                    "{{recording_url}} links to one session's recording: name the session "
                    'with audience.attended ({"session": …, "value": …}) or a single '
                    "audience.sessions entry.",
                )
            ]
        session = event.session(session_id)
        if session is None:  # refused above as an unknown session
            return []
        if not session.recording_url:
            return [
                (
                    field,
                    "no_recording",
                    f"The session {session_id!r} has no recording_url yet: add it to the "
                    "session (PUT /events/{id}) before using {{recording_url}}.",
                )
            ]
        return []


# Jinja2 is imported where templates are checked or rendered, not with this module:
# the API's cold start does not pay for it.


@functools.lru_cache(maxsize=1)
def _lexer_environment() -> Any:
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment()


def template_problems(source: str) -> list[str]:
    """What is wrong with a template: only ``{{ placeholder }}`` may appear in it."""
    from jinja2 import TemplateSyntaxError

    try:
        tokens = list(_lexer_environment().lex(source))
        _lexer_environment().parse(source)
    except TemplateSyntaxError as error:
        return [f"The template cannot be read: {error.message}."]
    problems: list[str] = []
    inside: list[tuple[str, str]] | None = None
    for _, kind, value in tokens:
        if kind in ("block_begin", "comment_begin", "line_statement_begin", "raw_begin"):
            problems.append(
                "Only placeholders such as {{first_name}} are allowed, not {% %} or {# #}."
            )
        elif kind == "variable_begin":
            inside = []
        elif kind == "variable_end" and inside is not None:
            names = [v for k, v in inside if k != "whitespace"]
            if len(names) != 1 or names[0] not in PLACEHOLDERS:
                shown = "".join(v for _, v in inside).strip()
                problems.append(
                    f"Unknown placeholder {{{{{shown}}}}}: use one of "
                    + ", ".join(f"{{{{{p}}}}}" for p in sorted(PLACEHOLDERS))
                    + "."
                )
            inside = None
        elif inside is not None:
            inside.append((kind, value))
    return sorted(set(problems))


def placeholders(source: str) -> set[str]:
    """The placeholders a checked template uses."""
    used: set[str] = set()
    inside = False
    for _, kind, value in _lexer_environment().lex(source):
        if kind == "variable_begin":
            inside = True
        elif kind == "variable_end":
            inside = False
        elif inside and kind == "name":
            used.add(value)
    return used


def recording_url(campaign: Campaign, event: Event) -> str:
    """Where a campaign's {{recording_url}} leads (checked when it was created; empty
    if the organisers have since taken the recording away)."""
    session_id = campaign.audience.one_session
    session = event.session(session_id) if session_id else None
    return (session.recording_url or "") if session else ""


@functools.lru_cache(maxsize=2)
def sandbox(html: bool) -> Any:
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=html, keep_trailing_newline=True)


@functools.lru_cache(maxsize=256)
def compiled(source: str, html: bool) -> Any:
    """A checked template, compiled once per container."""
    return sandbox(html).from_string(source)


class Campaign(BaseModel):
    """A campaign as stored: what to send to whom, and how far the fan-out got."""

    campaign_id: str
    event_id: str
    name: str
    audience: Audience
    content: dict[str, Content]  # empty for a reminder: its text is Majlis's own
    purpose: str = "announcement"  # or "reminder", or "change" (of the programme)
    session_id: str | None = None  # a reminder's session
    reminder: str | None = None  # a reminder's offset (P1D, PT1H …)
    change: ProgrammeChange | None = None  # what a change notice tells
    send_at: datetime | None = None
    status: CampaignStatus = CampaignStatus.SCHEDULED
    reason: str | None = None  # why it failed or paused, for organisers
    created_at: datetime
    cursor: str | None = None  # the last registration id the fan-out has queued
    fanned_out: bool = False
    recipients: int = 0  # everyone the audience matched so far
    queued: int = 0
    suppressed: int = 0  # skipped at fan-out: unsubscribed, bounced, complained

    @property
    def transactional(self) -> bool:
        """A reminder or a programme change: about the reader's own sessions, sent with
        the confirmations, ahead of announcements."""
        return self.purpose in ("reminder", "change")

    def reaches(self, registration: Registration) -> bool:
        """Whether the campaign is for ``registration`` now: its audience matches, and
        a programme change is told to those who registered before its ``told_until``
        (a later registration was confirmed with the new programme)."""
        until = self.change.told_until if self.change else None
        if until is not None and registration.created_at > until:
            return False
        return self.audience.where().matches(registration)

    def content_for(self, language: str, default_language: str) -> tuple[str, Content]:
        if language in self.content:
            return language, self.content[language]
        return default_language, self.content[default_language]


def wants_announcements(registration: Registration) -> bool:
    return registration.updates and registration.email_status is EmailStatus.OK


def may_receive(campaign: Campaign, registration: Registration) -> bool:
    """Announcements skip whoever unsubscribed or said ``updates: false``; a reminder or
    the notice of a programme change is about the registrant's own sessions and skips
    only addresses that bounced or complained."""
    if campaign.transactional:
        return registration.email_status not in (EmailStatus.BOUNCED, EmailStatus.COMPLAINED)
    return wants_announcements(registration)
