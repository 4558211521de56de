"""Test data: an event like the reference conference, with fixed dates."""

from __future__ import annotations

import copy
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ["ar", "en", "tr", "fr", "es", "ur", "ms"]
JERUSALEM = ZoneInfo("Asia/Jerusalem")
# Two days in March 2027, four sessions a day one after the other from 14:00 Jerusalem
# time (12:00 UTC before Israel's daylight saving time starts on 26 March).
FIRST_DAY = datetime(2027, 3, 6, 14, 0, tzinfo=JERUSALEM)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

SESSION_TITLES = {
    "education": {
        "ar": "التعليم والمستقبل",
        "en": "Education and the future",
        "tr": "Eğitim ve gelecek",
    },
    "family": {"ar": "الأسرة والمجتمع", "en": "Family and society"},
    "youth": {"ar": "ورشة الشباب", "en": "Youth workshop", "ur": "نوجوانوں کی ورکشاپ"},
    "science": {"ar": "العلم والإيمان", "en": "Science and faith"},
    "economy": {"ar": "الاقتصاد والأخلاق", "en": "Economics and ethics"},
    "media": {"ar": "الإعلام والتواصل", "en": "Media and communication"},
    "health": {"ar": "الصحة والعافية", "en": "Health and well-being"},
    "environment": {"ar": "البيئة والمسؤولية", "en": "Environment and responsibility"},
}


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zoom_base_for(event_id: str) -> str:
    """Nine digits of Zoom ids for an event: each event's meetings are its own."""
    return str(700_000_000 + zlib.crc32(event_id.encode()) % 99_999_999)


def event_body(zoom_base: str = "812345678", **overrides: Any) -> dict[str, Any]:
    sessions = []
    for index, (session_id, title) in enumerate(SESSION_TITLES.items()):
        starts = FIRST_DAY + timedelta(days=index // 4, hours=2 * (index % 4))
        sessions.append(
            {
                "id": session_id,
                "title": copy.deepcopy(title),
                "starts_at": utc(starts),
                "ends_at": utc(starts + timedelta(hours=2)),
                "zoom": {"type": "webinar", "id": f"{zoom_base}9{index}"},
                "join_url": f"https://us06web.zoom.us/w/{zoom_base}9{index}",
            }
        )
    body: dict[str, Any] = {
        "title": {"ar": "جسور المعرفة", "en": "Bridges of Knowledge", "ur": "علم کے پل"},
        "languages": list(LANGUAGES),
        "default_language": "ar",
        "timezone": "Asia/Jerusalem",
        "display_timezones": ["Asia/Jerusalem", "Europe/Istanbul"],
        "capacity": 5000,
        "registration": {"opens_at": "2027-02-01T00:00:00Z", "closes_at": utc(FIRST_DAY)},
        "sender": {"email": "events@example.org", "name": "Bridges of Knowledge"},
        "reply_to": "help@example.org",
        "sessions": sessions,
        "reminders": ["P1D", "PT1H"],
        "allowed_origins": ["https://conference.example.org"],
    }
    body.update(overrides)
    return body


def person(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"person{n}@example.org",
        "first_name": "Amina",
        "last_name": "Rahman",
        "country": "MY",
        "language": "ms",
        "timezone": "Asia/Kuala_Lumpur",
        "consent": True,
    }
    body.update(overrides)
    return body


def put_open_event(url: str, token: str, event_id: str, **overrides: Any) -> dict[str, Any]:
    """PUT an event like the reference one, open for registration, with ``overrides``,
    through the API at ``url`` (local mode's); the body it stored."""
    import requests

    body = event_body(
        zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"}, **overrides
    )
    response = requests.put(
        f"{url}/events/{event_id}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return body
