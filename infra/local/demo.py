"""The demo event of local mode: the reference scenario of the design.

A two-day conference a few days from now: 8 sessions, four a day one after the other
from 14:00 Jerusalem time (15:00 Istanbul time), each 90 minutes with a half-hour break,
in the 7 languages, capacity 5,000; Palestine named as its audience says it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

EVENT_ID = "demo"
JERUSALEM = ZoneInfo("Asia/Jerusalem")

TITLE = {
    "ar": "جسور المعرفة — المؤتمر الدولي عبر الإنترنت",
    "en": "Bridges of Knowledge — International Online Conference",
    "tr": "Bilgi Köprüleri — Uluslararası Çevrim İçi Konferans",
    "fr": "Ponts du savoir — Conférence internationale en ligne",
    "es": "Puentes del saber — Conferencia internacional en línea",
    "ur": "علم کے پل — بین الاقوامی آن لائن کانفرنس",
    "ms": "Jambatan Ilmu — Persidangan Antarabangsa Dalam Talian",
}

SESSIONS = [
    (
        "education",
        {
            "ar": "التعليم والمستقبل",
            "en": "Education and the future",
            "tr": "Eğitim ve gelecek",
            "fr": "L’éducation et l’avenir",
            "es": "La educación y el futuro",
            "ur": "تعلیم اور مستقبل",
            "ms": "Pendidikan dan masa depan",
        },
    ),
    (
        "family",
        {
            "ar": "الأسرة والمجتمع",
            "en": "Family and society",
            "tr": "Aile ve toplum",
            "fr": "La famille et la société",
            "es": "La familia y la sociedad",
            "ur": "خاندان اور معاشرہ",
            "ms": "Keluarga dan masyarakat",
        },
    ),
    (
        "youth",
        {
            "ar": "ورشة الشباب",
            "en": "Youth workshop",
            "tr": "Gençlik atölyesi",
            "fr": "Atelier jeunesse",
            "es": "Taller de jóvenes",
            "ur": "نوجوانوں کی ورکشاپ",
            "ms": "Bengkel belia",
        },
    ),
    (
        "science",
        {
            "ar": "العلم والإيمان",
            "en": "Science and faith",
            "tr": "Bilim ve inanç",
            "fr": "Science et foi",
            "es": "Ciencia y fe",
            "ur": "سائنس اور ایمان",
            "ms": "Sains dan iman",
        },
    ),
    (
        "economy",
        {
            "ar": "الاقتصاد والأخلاق",
            "en": "Economics and ethics",
            "tr": "Ekonomi ve ahlak",
            "fr": "Économie et éthique",
            "es": "Economía y ética",
            "ur": "معیشت اور اخلاقیات",
            "ms": "Ekonomi dan etika",
        },
    ),
    (
        "media",
        {
            "ar": "الإعلام والتواصل",
            "en": "Media and communication",
            "tr": "Medya ve iletişim",
            "fr": "Médias et communication",
            "es": "Medios y comunicación",
            "ur": "میڈیا اور ابلاغ",
            "ms": "Media dan komunikasi",
        },
    ),
    (
        "health",
        {
            "ar": "الصحة والعافية",
            "en": "Health and well-being",
            "tr": "Sağlık ve esenlik",
            "fr": "Santé et bien-être",
            "es": "Salud y bienestar",
            "ur": "صحت اور فلاح و بہبود",
            "ms": "Kesihatan dan kesejahteraan",
        },
    ),
    (
        "environment",
        {
            "ar": "البيئة والمسؤولية",
            "en": "Environment and responsibility",
            "tr": "Çevre ve sorumluluk",
            "fr": "Environnement et responsabilité",
            "es": "Medio ambiente y responsabilidad",
            "ur": "ماحول اور ذمہ داری",
            "ms": "Alam sekitar dan tanggungjawab",
        },
    ),
]


# CLDR's Arabic name for PS is "الأراضي الفلسطينية" ("Palestinian Territories"): this
# conference's audience says فلسطين, and so do the forms, the stats and the exports.
COUNTRY_NAMES = {
    "PS": {
        "ar": "فلسطين",
        "en": "Palestine",
        "tr": "Filistin",
        "fr": "Palestine",
        "es": "Palestina",
        "ur": "فلسطین",
        "ms": "Palestin",
    }
}


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_event(
    today: date | None = None, days_ahead: int = 3, zoom_url: str = "https://us06web.zoom.us"
) -> dict[str, Any]:
    """The body of ``PUT /events/demo``."""
    first_day = (today or datetime.now(JERUSALEM).date()) + timedelta(days=days_ahead)
    sessions = []
    for index, (session_id, title) in enumerate(SESSIONS):
        day = first_day + timedelta(days=index // 4)
        starts = datetime.combine(day, time(14, 0), tzinfo=JERUSALEM) + timedelta(
            hours=2 * (index % 4)
        )
        sessions.append(
            {
                "id": session_id,
                "title": title,
                "starts_at": _utc(starts),
                "ends_at": _utc(starts + timedelta(minutes=90)),
                "zoom": {"type": "webinar", "id": f"8123456789{index}"},
                "join_url": f"{zoom_url}/w/8123456789{index}",
            }
        )
    opens = datetime.now(UTC) - timedelta(days=1)
    return {
        "title": TITLE,
        "languages": ["ar", "en", "tr", "fr", "es", "ur", "ms"],
        "default_language": "ar",
        "timezone": "Asia/Jerusalem",
        "display_timezones": ["Asia/Jerusalem", "Europe/Istanbul"],
        "capacity": 5000,
        "registration": {"opens_at": _utc(opens), "closes_at": sessions[-1]["starts_at"]},
        "sender": {"email": "events@example.org", "name": "جسور المعرفة · Bridges of Knowledge"},
        "reply_to": "help@example.org",
        "sessions": sessions,
        "reminders": ["P1D", "PT1H"],
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
        "country_names": COUNTRY_NAMES,
    }
