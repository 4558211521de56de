"""Exports: an event's registrations as a CSV file that opens in Excel, Arabic intact.

``POST /events/{id}/exports`` (the list's filters in the query string) records the
export; ``?kind=attendance&session=s1`` makes it the attendance of one session instead:
a row per person registered for it (``status=`` chooses others), with their first and
last join (join clicks and Zoom's joins together, domain/attendance.py), whether they
came, and their room. Speakers are not registrations: they are never in it. The
export is recorded; the table's stream puts it on the export queue, whose worker pages through the
registrations and streams the rows to S3 (a multipart upload: 100,000 rows never sit
in memory). The file is UTF-8 with a byte order mark, which is how Excel knows it is
UTF-8; cells that a spreadsheet would take for a formula are prefixed with ``'``. It
is downloaded through a presigned URL that expires; the bucket deletes it after 7 days.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.attendance import joins
from chalicelib.domain.errors import FieldError, Invalid, NotFound, Refused
from chalicelib.domain.events import Event, utc_text
from chalicelib.domain.ids import new_id
from chalicelib.domain.registrations import Registration, RegistrationFilter, Status
from chalicelib.ports import Export, Services
from chalicelib.usecases.events import known_event
from chalicelib.usecases.registrations import registration_filter

PAGE = 500
URL_SECONDS = 3600  # how long a download link works
COLUMNS = (
    "registration_id",
    "status",
    "first_name",
    "last_name",
    "email",
    "country",
    "language",
    "timezone",
    "sessions",
    "source",
    "updates",
    "email_status",
    "attended",
    "created_at",
    "country_name",  # in the event's default language, as the event names it (last: new)
)
ATTENDANCE_COLUMNS = (
    "registration_id",
    "status",
    "first_name",
    "last_name",
    "email",
    "country",
    "language",
    "session",
    "room",  # the key of the room they are seated in; empty without rooms
    "attended",
    "first_join",
    "last_join",
    "joined_by",  # "link" (a join click), "zoom" (Zoom's participant_joined), or both
)
KINDS = ("registrations", "attendance")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _kind(event: Event, filters: dict[str, str]) -> tuple[str, RegistrationFilter]:
    """What the export is of, and whose rows it has; refuses what does not fit."""
    kind = filters.get("kind") or "registrations"
    if kind not in KINDS:
        raise Invalid(
            [FieldError("kind", "invalid_choice", "Use kind=registrations or kind=attendance.")]
        )
    where = registration_filter(event, filters, also=("kind",))
    if kind == "attendance":
        if len(where.sessions) != 1:
            raise Invalid(
                [
                    FieldError(
                        "session",
                        "one_session_required",
                        "An attendance export is of one session: add session=<its id>.",
                    )
                ]
            )
        if not where.status:  # those who had a seat, unless the organiser asks for others
            where = dataclasses.replace(where, status=frozenset({Status.REGISTERED}))
    return kind, where


def start(services: Services, event_id: str, params: dict[str, str]) -> dict[str, Any]:
    event = known_event(services, event_id)
    _kind(event, params)  # refuse bad filters now, not in the worker
    export = Export(export_id=new_id(), event_id=event.id, filters=dict(params))
    services.exports.create(export, services.clock())
    return {"export_id": export.export_id}


def progress(services: Services, event_id: str, export_id: str) -> dict[str, Any]:
    known_event(services, event_id)
    export = services.exports.get(export_id)
    if export is None or export.event_id != event_id:
        raise NotFound("There is no such export for this event.")
    answer: dict[str, Any] = {"status": export.status, "rows": export.rows, "url": None}
    if export.status == "done":
        filename = f"{event_id}-registrations.csv"
        if export.filters.get("kind") == "attendance":
            filename = f"{event_id}-attendance-{export.filters.get('session', '')}.csv"
        answer["url"] = services.export_files.url(export.key, filename, URL_SECONDS)
    if export.reason:
        answer["reason"] = export.reason
    return answer


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row(registration: Registration, event: Event) -> list[str]:
    from chalicelib import i18n

    country = registration.country or ""
    country_name = (
        i18n.country_name(country, event.default_language, event.country_names) if country else ""
    )
    return [
        _cell(text)
        for text in (
            registration.registration_id,
            registration.status.value,
            registration.first_name,
            registration.last_name or "",
            registration.email,
            country,
            registration.language,
            registration.timezone,
            " ".join(registration.sessions),
            registration.source,
            "yes" if registration.updates else "no",
            registration.email_status.value,
            " ".join(sorted(registration.attended)),
            utc_text(registration.created_at),
            country_name,
        )
    ]


def _attendance_row(registration: Registration, session_id: str) -> list[str]:
    came = joins(registration, session_id)
    by = [
        name
        for name, seen in (
            ("link", bool(registration.clicks.get(session_id, {}).get("first"))),
            ("zoom", session_id in registration.attended),
        )
        if seen
    ]
    return [
        _cell(text)
        for text in (
            registration.registration_id,
            registration.status.value,
            registration.first_name,
            registration.last_name or "",
            registration.email,
            registration.country or "",
            registration.language,
            session_id,
            registration.rooms.get(session_id, ""),
            "yes" if came.attended else "no",
            utc_text(came.first) if came.first else "",
            utc_text(came.last) if came.last else "",
            " ".join(by),
        )
    ]


def csv_chunks(services: Services, export: Export, counted: list[int]) -> Iterator[bytes]:
    """The file, a page of rows at a time; ``counted[0]`` ends as the number of rows."""
    event = known_event(services, export.event_id)
    kind, where = _kind(event, export.filters)
    if kind == "attendance":
        (session_id,) = where.sessions
        columns: tuple[str, ...] = ATTENDANCE_COLUMNS

        def row(registration: Registration) -> list[str]:
            return _attendance_row(registration, session_id)
    else:
        columns = COLUMNS

        def row(registration: Registration) -> list[str]:
            return _row(registration, event)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    cursor: str | None = None
    while True:
        page = services.registrations.page(event.id, where, PAGE, cursor)
        buffer.seek(0)
        buffer.truncate()
        for registration in page.items:
            writer.writerow(row(registration))
        counted[0] += len(page.items)
        yield buffer.getvalue().encode()
        cursor = page.cursor
        if cursor is None:
            return


def write(services: Services, export_id: str) -> str:
    """The export queue's job: write the file, then mark the export done."""
    export = services.exports.get(export_id)
    if export is None or export.status != "running":
        return "nothing to do"
    key = f"{export.event_id}/{export.export_id}.csv"
    counted = [0]
    try:
        services.export_files.upload(key, csv_chunks(services, export, counted))
    except Refused as refused:  # the event or its filters changed meanwhile
        services.exports.fail(export_id, refused.detail, services.clock())
        return "failed"
    services.exports.finish(export_id, counted[0], key, services.clock())
    return "done"
