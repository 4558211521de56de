"""Times in the confirmation email: the reader's zone and day, the display zones' lines,
daylight-saving changes and sessions that cross midnight.

Expected strings are derived with Babel from the sessions' UTC instants and zoneinfo
(the same CLDR calls as ``chalicelib.i18n.when``), so a wrong zone, day or offset shows;
a few lines are written out by hand to pin the format itself.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    get_timezone_location,
)
from icalendar import Calendar

from chalicelib import i18n
from chalicelib.jobs import RegistrationMail
from chalicelib.ports import Services
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_registration_mail
from tests.builders import FIRST_DAY, LANGUAGES, person
from tests.unit.support import EVENT_ID, configure

DISPLAY_ZONES = ["Asia/Jerusalem", "Europe/Istanbul"]  # the builders' display_timezones
READERS = ["America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]
THIN = "\u2009"  # CLDR puts thin spaces around the en dash of an interval in English


# -- the expected lines ------------------------------------------------------------------


def _hours(start: datetime, end: datetime, tz: ZoneInfo, where: Locale) -> str:
    if start.date() == end.date():
        return format_interval(start, end, skeleton="Hm", tzinfo=tz, locale=where)
    return (
        f"{format_skeleton('Hm', start, tzinfo=tz, locale=where)} – "
        f"{format_skeleton('MMMEd', end, tzinfo=tz, locale=where)} "
        f"{format_skeleton('Hm', end, tzinfo=tz, locale=where)}"
    )


def expected_lines(
    starts_at: datetime, ends_at: datetime, reader_zone: str, language: str
) -> list[str]:
    """The reader's day and hours, then one line per other display zone."""
    gettext = i18n.translations(language).gettext
    where = Locale.parse(language)
    tz = ZoneInfo(reader_zone)
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    place = get_timezone_location(tz, locale=where, return_city=True)
    lines = [
        format_date(start, format="full", locale=where),
        f"{_hours(start, end, tz, where)} ({gettext('your time: %(place)s') % {'place': place}})",
    ]
    for zone_name in DISPLAY_ZONES:
        if zone_name == reader_zone:
            continue
        other_tz = ZoneInfo(zone_name)
        other_start, other_end = starts_at.astimezone(other_tz), ends_at.astimezone(other_tz)
        day = ""
        if other_start.date() != start.date():
            day = format_skeleton("MMMEd", other_start, tzinfo=other_tz, locale=where) + " "
        other_place = get_timezone_location(other_tz, locale=where, return_city=True)
        lines.append(
            f"{day}{_hours(other_start, other_end, other_tz, where)} "
            f"{gettext('%(place)s time') % {'place': other_place}}"
        )
    return lines


# -- sending -----------------------------------------------------------------------------


def session(session_id: str, starts_at: str, hours: int = 2) -> dict[str, Any]:
    start = datetime.fromisoformat(starts_at).replace(tzinfo=UTC)
    return {
        "id": session_id,
        "title": {"ar": f"جلسة {session_id}", "en": f"Session {session_id}"},
        "starts_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ends_at": (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def received(majlis: Services, **fields: Any) -> EmailMessage:
    outcome = register(majlis, EVENT_ID, person(**fields), form=False)
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=outcome.registration_id, seq=1)
        )
        == "sent"
    )
    message = email.message_from_bytes(majlis.mailer.sent[-1]["raw"], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return part.get_content()


def blocks(text: str) -> list[list[str]]:
    """Each session's lines in the text part (indented under its "* title" bullet)."""
    found: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("* "):
            found.append([])
        elif found and line.startswith("  "):
            found[-1].append(line[2:])
        elif found and line and not line.startswith("  "):
            break
    return found


def time_lines(text: str) -> list[list[str]]:
    """Each session's time lines: everything but its join link."""
    return [block[:-1] for block in blocks(text)]


def calendar_starts(message: EmailMessage) -> list[datetime]:
    (invite,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(invite.get_content())
    return [v.decoded("dtstart") for v in calendar.walk("VEVENT")]


# -- the reader's zone and day -------------------------------------------------------------


def test_the_readers_zones_have_the_offsets_this_test_relies_on() -> None:
    # 6 March 2027, 12:00 UTC (the first session). Chatham keeps daylight saving time
    # (+13:45) until the first Sunday of April; +12:45 is its standard time.
    first = FIRST_DAY.astimezone(UTC)
    assert first == datetime(2027, 3, 6, 12, 0, tzinfo=UTC)
    offsets = {name: first.astimezone(ZoneInfo(name)).utcoffset() for name in READERS}
    assert offsets == {
        "America/Los_Angeles": -timedelta(hours=8),
        "Asia/Kolkata": timedelta(hours=5, minutes=30),
        "Pacific/Chatham": timedelta(hours=13, minutes=45),
    }


@pytest.mark.parametrize("zone_name", READERS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_session_is_shown_in_the_readers_zone_and_the_display_zones(
    majlis: Services, language: str, zone_name: str
) -> None:
    # Given a registrant in ``zone_name`` for the first session (6 March, 12:00-14:00 UTC)
    message = received(majlis, language=language, timezone=zone_name, sessions=["education"])
    starts_at, ends_at = FIRST_DAY, FIRST_DAY + timedelta(hours=2)
    expected = expected_lines(starts_at, ends_at, zone_name, language)
    # Then the text part gives the day and hours in the reader's zone, then the display
    # zones (Jerusalem, Istanbul), each with its day when it is not the reader's day
    assert time_lines(text_of(message)) == [expected]
    # And the HTML part says the same
    html = html_of(message)
    for line in expected:
        assert line in html
    # And the calendar keeps the instant in UTC
    assert calendar_starts(message) == [datetime(2027, 3, 6, 12, 0, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("zone_name", "lines"),
    [
        (
            "America/Los_Angeles",
            [
                "Saturday, March 6, 2027",
                f"04:00{THIN}–{THIN}06:00 (your time: Los Angeles)",
                f"14:00{THIN}–{THIN}16:00 Jerusalem time",
                f"15:00{THIN}–{THIN}17:00 Istanbul time",
            ],
        ),
        (
            "Asia/Kolkata",
            [
                "Saturday, March 6, 2027",
                f"17:30{THIN}–{THIN}19:30 (your time: Kolkata)",
                f"14:00{THIN}–{THIN}16:00 Jerusalem time",
                f"15:00{THIN}–{THIN}17:00 Istanbul time",
            ],
        ),
        (
            # Already Sunday in Chatham: the Jerusalem and Istanbul lines name their day
            "Pacific/Chatham",
            [
                "Sunday, March 7, 2027",
                f"01:45{THIN}–{THIN}03:45 (your time: Chatham Islands)",
                f"Sat, Mar 6 14:00{THIN}–{THIN}16:00 Jerusalem time",
                f"Sat, Mar 6 15:00{THIN}–{THIN}17:00 Istanbul time",
            ],
        ),
    ],
)
def test_the_english_lines_written_out(majlis: Services, zone_name: str, lines: list[str]) -> None:
    message = received(majlis, language="en", timezone=zone_name, sessions=["education"])
    assert time_lines(text_of(message)) == [lines]


def test_the_french_lines_for_chatham_written_out(majlis: Services) -> None:
    message = received(majlis, language="fr", timezone="Pacific/Chatham", sessions=["education"])
    (lines,) = time_lines(text_of(message))
    assert lines[0] == "dimanche 7 mars 2027"
    assert lines[1].startswith("01:45")
    assert lines[1].endswith("03:45 (votre heure locale\u00a0: Chatham)")
    assert lines[2].startswith("sam. 6 mars 14:00")
    assert lines[3].startswith("sam. 6 mars 15:00")


def test_a_reader_in_a_display_zone_gets_no_line_repeating_it(majlis: Services) -> None:
    message = received(
        majlis, language="en", timezone="Asia/Jerusalem", sessions=["education", "youth"]
    )
    lines = time_lines(text_of(message))
    assert lines == [
        [
            "Saturday, March 6, 2027",
            f"14:00{THIN}–{THIN}16:00 (your time: Jerusalem)",
            f"15:00{THIN}–{THIN}17:00 Istanbul time",
        ],
        [
            "Saturday, March 6, 2027",
            f"18:00{THIN}–{THIN}20:00 (your time: Jerusalem)",
            f"19:00{THIN}–{THIN}21:00 Istanbul time",
        ],
    ]
    assert "Jerusalem time" not in text_of(message)


# -- daylight-saving changes ------------------------------------------------------------------


ISRAEL_CHANGE = [session("before", "2027-03-25T11:00"), session("after", "2027-03-26T11:00")]
US_CHANGE = [session("saturday", "2027-03-13T17:00"), session("sunday", "2027-03-14T17:00")]


def test_jerusalem_moves_an_hour_when_israel_starts_summer_time(majlis: Services) -> None:
    # Given two sessions at 11:00 UTC, the days before and after Israel's change
    # (Friday 26 March 2027, 02:00 local: +02:00 -> +03:00)
    jerusalem = ZoneInfo("Asia/Jerusalem")
    assert datetime(2027, 3, 25, 11, tzinfo=UTC).astimezone(jerusalem).hour == 13
    assert datetime(2027, 3, 26, 11, tzinfo=UTC).astimezone(jerusalem).hour == 14
    configure(majlis, sessions=ISRAEL_CHANGE)
    # When a registrant in a zone without daylight saving (Reykjavik, UTC) gets the email
    message = received(majlis, language="en", timezone="Atlantic/Reykjavik")
    # Then Jerusalem reads 13:00 then 14:00, while Istanbul (no change) reads 14:00 twice
    assert time_lines(text_of(message)) == [
        [
            "Thursday, March 25, 2027",
            f"11:00{THIN}–{THIN}13:00 (your time: Reykjavik)",
            f"13:00{THIN}–{THIN}15:00 Jerusalem time",
            f"14:00{THIN}–{THIN}16:00 Istanbul time",
        ],
        [
            "Friday, March 26, 2027",
            f"11:00{THIN}–{THIN}13:00 (your time: Reykjavik)",
            f"14:00{THIN}–{THIN}16:00 Jerusalem time",
            f"14:00{THIN}–{THIN}16:00 Istanbul time",
        ],
    ]
    # And the calendar still holds both at 11:00 UTC
    assert calendar_starts(message) == [
        datetime(2027, 3, 25, 11, tzinfo=UTC),
        datetime(2027, 3, 26, 11, tzinfo=UTC),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_jerusalem_reader_sees_the_change_in_every_language(
    majlis: Services, language: str
) -> None:
    configure(majlis, sessions=ISRAEL_CHANGE)
    message = received(majlis, language=language, timezone="Asia/Jerusalem")
    lines = time_lines(text_of(message))
    expected = [
        expected_lines(
            datetime.fromisoformat(s["starts_at"]),
            datetime.fromisoformat(s["ends_at"]),
            "Asia/Jerusalem",
            language,
        )
        for s in ISRAEL_CHANGE
    ]
    assert lines == expected
    assert lines[0][1].startswith("13:00")
    assert lines[1][1].startswith("14:00")


def test_los_angeles_moves_an_hour_when_the_us_starts_summer_time(majlis: Services) -> None:
    # Given sessions at 17:00 UTC on Saturday 13 and Sunday 14 March 2027 (US change)
    configure(majlis, sessions=US_CHANGE)
    # When a registrant in Los Angeles gets the email
    message = received(majlis, language="en", timezone="America/Los_Angeles")
    # Then the first reads 09:00 (PST) and the second 10:00 (PDT); Israel has not changed
    assert time_lines(text_of(message)) == [
        [
            "Saturday, March 13, 2027",
            f"09:00{THIN}–{THIN}11:00 (your time: Los Angeles)",
            f"19:00{THIN}–{THIN}21:00 Jerusalem time",
            f"20:00{THIN}–{THIN}22:00 Istanbul time",
        ],
        [
            "Sunday, March 14, 2027",
            f"10:00{THIN}–{THIN}12:00 (your time: Los Angeles)",
            f"19:00{THIN}–{THIN}21:00 Jerusalem time",
            f"20:00{THIN}–{THIN}22:00 Istanbul time",
        ],
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_us_change_in_every_language(majlis: Services, language: str) -> None:
    configure(majlis, sessions=US_CHANGE)
    message = received(majlis, language=language, timezone="America/Los_Angeles")
    assert time_lines(text_of(message)) == [
        expected_lines(
            datetime.fromisoformat(s["starts_at"]),
            datetime.fromisoformat(s["ends_at"]),
            "America/Los_Angeles",
            language,
        )
        for s in US_CHANGE
    ]


# -- sessions crossing midnight -----------------------------------------------------------------


# 07:30-09:30 UTC on 7 March: 23:30-01:30 in Los Angeles (Saturday into Sunday),
# Sunday morning in Jerusalem and Istanbul.
LATE_IN_LA = session("late", "2027-03-07T07:30")
# 10:00-12:00 UTC on 6 March: 23:45-01:45 in Chatham, Saturday noon in Jerusalem.
LATE_IN_CHATHAM = session("chatham", "2027-03-06T10:00")
# 21:00-23:00 UTC on 6 March: Sunday morning in Chatham, Saturday 23:00 in Jerusalem
# (crossing its midnight), Sunday 00:00 in Istanbul.
LATE_IN_JERUSALEM = session("jerusalem", "2027-03-06T21:00")
MIDNIGHT = [LATE_IN_LA, LATE_IN_CHATHAM, LATE_IN_JERUSALEM]


@pytest.mark.parametrize("zone_name", ["America/Los_Angeles", "Pacific/Chatham"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_sessions_crossing_midnight(majlis: Services, language: str, zone_name: str) -> None:
    configure(majlis, sessions=MIDNIGHT)
    message = received(majlis, language=language, timezone=zone_name)
    assert time_lines(text_of(message)) == [
        expected_lines(
            datetime.fromisoformat(s["starts_at"]),
            datetime.fromisoformat(s["ends_at"]),
            zone_name,
            language,
        )
        for s in MIDNIGHT
    ]


def test_other_zones_name_their_day_only_when_it_differs(majlis: Services) -> None:
    configure(majlis, sessions=MIDNIGHT)
    la = time_lines(text_of(received(majlis, language="en", timezone="America/Los_Angeles")))
    chatham = time_lines(
        text_of(received(majlis, language="en", timezone="Pacific/Chatham", email="c@example.org"))
    )
    # A Saturday-night session in Los Angeles is on Sunday in Jerusalem and Istanbul
    assert la[0][0] == "Saturday, March 6, 2027"
    assert la[0][1].endswith("(your time: Los Angeles)")
    assert la[0][2] == f"Sun, Mar 7 09:30{THIN}–{THIN}11:30 Jerusalem time"
    assert la[0][3] == f"Sun, Mar 7 10:30{THIN}–{THIN}12:30 Istanbul time"
    # A Saturday-night session in Chatham is Saturday in Jerusalem and Istanbul too
    assert chatham[1][0] == "Saturday, March 6, 2027"
    assert chatham[1][1].endswith("(your time: Chatham Islands)")
    assert chatham[1][2] == f"12:00{THIN}–{THIN}14:00 Jerusalem time"
    assert chatham[1][3] == f"13:00{THIN}–{THIN}15:00 Istanbul time"
    # A Sunday-morning session in Chatham: Saturday in Jerusalem, Sunday in Istanbul
    assert chatham[2][0] == "Sunday, March 7, 2027"
    assert chatham[2][2].startswith("Sat, Mar 6 ")
    assert chatham[2][2].endswith(" Jerusalem time")
    assert chatham[2][3] == f"00:00{THIN}–{THIN}02:00 Istanbul time"


def test_a_session_crossing_midnight_names_the_day_it_ends(majlis: Services) -> None:
    configure(majlis, sessions=[LATE_IN_LA])
    (lines,) = time_lines(text_of(received(majlis, language="en", timezone="America/Los_Angeles")))
    assert lines[0] == "Saturday, March 6, 2027"
    assert lines[1].startswith("23:30 – Sun, Mar 7 01:30")
    assert lines[1].endswith("(your time: Los Angeles)")


def test_a_session_crossing_midnight_uses_the_same_clock_as_the_others(
    majlis: Services,
) -> None:
    configure(majlis, sessions=[LATE_IN_LA, session("day", "2027-03-06T12:00")])
    lines = time_lines(text_of(received(majlis, language="en", timezone="America/Los_Angeles")))
    late_hours, day_hours = lines[0][1], lines[1][1]
    assert day_hours.startswith("04:00")  # the 24-hour clock
    assert late_hours.startswith("23:30")
    assert "01:30" in late_hours
    assert "PM" not in late_hours
    assert "AM" not in late_hours
