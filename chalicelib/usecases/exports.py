"""Exports: an event's registrations as a CSV file that opens in Excel, Arabic intact.

``POST /events/{id}/exports`` (the list's filters in the query string) records the
export; the table's stream puts it on the export queue, whose worker pages through the
registrations and streams the rows to S3 (a multipart upload: 100,000 rows never sit
in memory). The file is UTF-8 with a byte order mark, which is how Excel knows it is
UTF-8; cells that a spreadsheet would take for a formula are prefixed with ``'``. It
is downloaded through a presigned URL that expires; the bucket deletes it after 7 days.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from chalicelib.domain.errors import NotFound, Refused
from chalicelib.domain.events import Event, utc_text
from chalicelib.domain.ids import new_id
from chalicelib.domain.registrations import Registration
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
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def start(services: Services, event_id: str, params: dict[str, str]) -> dict[str, Any]:
    event = known_event(services, event_id)
    registration_filter(event, params)  # refuse bad filters now, not in the worker
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


def csv_chunks(services: Services, export: Export, counted: list[int]) -> Iterator[bytes]:
    """The file, a page of rows at a time; ``counted[0]`` ends as the number of rows."""
    event = known_event(services, export.event_id)
    where = registration_filter(event, export.filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    cursor: str | None = None
    while True:
        page = services.registrations.page(event.id, where, PAGE, cursor)
        buffer.seek(0)
        buffer.truncate()
        for registration in page.items:
            writer.writerow(_row(registration, event))
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
