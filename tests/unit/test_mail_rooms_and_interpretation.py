"""What the emails say of a session's interpretation and of the reader's room.

A session with an ``interpretation`` gets a line in each email that lists it: held in
the reader's language, interpreted into it (and, once, how to choose the channel in
Zoom), or not offered in it (and which languages are). A session of several rooms names
the reader's room. Expected wording comes from the ``.po`` catalogs (``tr``), language
names as CLDR writes them.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from chalicelib.domain.campaigns import Audience, Campaign, Content
from chalicelib.domain.events import Event
from chalicelib.domain.programme import notice_id
from chalicelib.domain.registrations import Registration
from chalicelib.jobs import CampaignMail
from chalicelib.mail.announcement import announcement_mail, reminder_mail
from chalicelib.mail.render import Rendered, registration_mail
from chalicelib.ports import Services
from chalicelib.signed_links import RegistrationLinks, registration_links
from chalicelib.usecases import campaigns
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_campaign_mail
from tests.builders import NOW, event_body, person
from tests.fakes import TEST_KEYS
from tests.unit.support import EVENT_ID, configure
from tests.unit.test_confirmation_email import INTERPRETATION, tags, tr

BASE = "https://r.example.org"
HELD = "This session is held in %(language)s."
INTO = "This session is interpreted into %(language)s."
NOT_OFFERED = "This session is not offered in %(language)s. Languages offered: %(languages)s."
CHANNEL = (
    "To hear the interpretation, click “Interpretation” (the globe icon) in Zoom’s "
    "meeting controls and choose %(channel)s. Interpretation is not available in "
    "Zoom’s web client: join with the Zoom desktop or mobile app."
)
YOUR_ROOM = "Your room: %(room)s"
ROOM_NUMBER = "Room %(number)s"
LIVE_STREAM = "Live stream"
WATCHING = "You will watch the live stream: your join link opens the stream page."
FSI, PDI = "\u2068", "\u2069"

# The reference conference's interpretation, but without Malay.
INTO_UR_NOT_MS = {"from": "ar", "into": ["en", "tr", "fr", "es", "ur"]}
WEBINAR, MEETING = "812345678801", "812345678802"
ROOMS = [
    {
        "zoom": {"type": "webinar", "id": WEBINAR},
        "capacity": 4999,
        "label": {"ar": "القاعة الرئيسية", "en": "Main hall", "ur": "مرکزی ہال"},
    },
    {"zoom": {"type": "meeting", "id": MEETING}, "capacity": 1000},
    {"watch_url": "https://stream.example.org/live"},
]
SEATS = {"main": f"webinar:{WEBINAR}", "overflow": f"meeting:{MEETING}", "watch": "watch"}


def conference(majlis: Services, **education: Any) -> Event:
    """The reference event, its first session ("education") changed by ``education``."""
    sessions = event_body()["sessions"]
    first = sessions[0]
    if "rooms" in education:
        first.pop("zoom")
        first.pop("join_url")
    first.update(education)
    return configure(majlis, sessions=sessions)


def registrant(
    majlis: Services, language: str, n: int = 1, room: str | None = None, **fields: Any
) -> Registration:
    fields.setdefault("sessions", ["education", "youth"])
    outcome = register(majlis, EVENT_ID, person(n, language=language, **fields), form=False)
    registration = majlis.registrations.registrations[outcome.registration_id]
    if room is not None:
        # Seated as the stream's handler would seat them.
        registration = registration.model_copy(update={"rooms": {"education": SEATS[room]}})
        majlis.registrations.registrations[outcome.registration_id] = registration
    return registration


def links_of(event: Event, registration: Registration) -> RegistrationLinks:
    return registration_links(TEST_KEYS, BASE, event, registration)


def confirmation(majlis: Services, registration: Registration) -> Rendered:
    event = majlis.events.get(EVENT_ID)
    assert event is not None
    return registration_mail(event, registration, links_of(event, registration), NOW)


def block_of(text: str, title_line: str) -> list[str]:
    """The lines of one session's block in the text part, from its ``* title`` on."""
    lines = text.splitlines()
    start = lines.index(f"* {title_line}")
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def mentions(body: str, language: str, msgid: str) -> bool:
    """Whether ``body`` holds the longest fixed part of ``msgid``'s translation."""
    fixed = max(re.split(r"%\(\w+\)s", tr(language, msgid)), key=len).strip()
    return fixed in body


def calendar_descriptions(rendered: Rendered) -> list[str]:
    assert rendered.calendar is not None
    calendar = Calendar.from_ical(rendered.calendar)
    return [str(v["description"]) for v in calendar.walk("VEVENT")]


# -- interpretation ------------------------------------------------------------------


def test_emails_in_ur_and_ms_say_the_right_thing_for_a_session_that_interprets_into_ur_but_not_ms(
    majlis: Services,
) -> None:
    # Given a session interpreted from Arabic into English, Turkish, French, Spanish and
    # Urdu (not Malay), and a registrant for it in Urdu and one in Malay
    conference(majlis, interpretation=INTO_UR_NOT_MS)
    urdu = confirmation(majlis, registrant(majlis, "ur", 1))
    malay = confirmation(majlis, registrant(majlis, "ms", 2))
    # Then the Urdu email says the session is interpreted into Urdu, and how to choose
    # the Urdu channel (a custom language in Zoom: the name the organiser gave it)
    into_urdu = tr("ur", INTO) % {"language": "اردو"}
    channel = tr("ur", CHANNEL) % {"channel": "Urdu"}
    for body in (urdu.text, urdu.html):
        assert into_urdu in body
        assert channel in body
        assert not mentions(body, "ur", NOT_OFFERED)
    assert into_urdu in block_of(urdu.text, "التعليم والمستقبل")
    # And the Malay email says Malay is not offered, listing the languages that are
    not_malay = tr("ms", NOT_OFFERED) % {
        "language": "Melayu",
        "languages": "Arab, Inggeris, Turki, Perancis, Sepanyol dan Urdu",
    }
    for body in (malay.text, malay.html):
        assert not_malay in body
        assert not mentions(body, "ms", CHANNEL)  # no channel to choose
        assert not mentions(body, "ms", INTO)
    assert not_malay in block_of(malay.text, "التعليم والمستقبل")
    # And neither carries the event-wide note of events without interpretation settings
    for received, language in ((urdu, "ur"), (malay, "ms")):
        assert not mentions(received.text, language, INTERPRETATION)
        assert not mentions(received.html, language, INTERPRETATION)


def test_a_session_without_interpretation_gets_no_line(majlis: Services) -> None:
    # Given "education" is interpreted and "youth" says nothing of interpretation
    conference(majlis, interpretation=INTO_UR_NOT_MS)
    text = confirmation(majlis, registrant(majlis, "ur")).text
    # Then only the education block has an interpretation line
    assert tr("ur", INTO) % {"language": "اردو"} in block_of(text, "التعليم والمستقبل")
    assert len(block_of(text, "نوجوانوں کی ورکشاپ")) == len(block_of(text, "التعليم والمستقبل")) - 1


def test_the_sessions_own_language_is_said_to_be_its_own(majlis: Services) -> None:
    conference(majlis, interpretation=INTO_UR_NOT_MS)
    arabic = confirmation(majlis, registrant(majlis, "ar"))
    held = tr("ar", HELD) % {"language": "العربية"}
    for body in (arabic.text, arabic.html):
        assert held in body
        assert not mentions(body, "ar", CHANNEL)
        assert "Zoom" not in body  # nothing to choose in Zoom


@pytest.mark.parametrize(
    ("language", "name", "channel"),
    [
        ("en", "English", "English"),  # built into Zoom
        ("fr", "français", "français (French)"),  # built in: shown in the app's language
        ("es", "español", "español (Spanish)"),
        ("tr", "Türkçe", "Turkish"),  # a custom language: as the organiser named it
    ],
)
def test_the_channel_is_named_as_zoom_lists_it(
    majlis: Services, language: str, name: str, channel: str
) -> None:
    conference(majlis, interpretation=INTO_UR_NOT_MS)
    received = confirmation(majlis, registrant(majlis, language))
    for body in (received.text, received.html):
        assert tr(language, INTO) % {"language": name} in body
        assert body.count(tr(language, CHANNEL) % {"channel": channel}) == 1


@pytest.mark.parametrize("language", ["ar", "ur"])
def test_the_new_lines_read_right_to_left_in_arabic_and_urdu(
    majlis: Services, language: str
) -> None:
    # Given an Arabic or Urdu registrant of a session of rooms that is interpreted
    conference(majlis, interpretation={"from": "en", "into": ["ar", "ur"]}, rooms=ROOMS)
    received = confirmation(majlis, registrant(majlis, language, room="main"))
    html = received.html
    # Then every direction in the HTML is right to left (but the isolated name)
    assert tags(html)[0] == ("html", {"lang": language, "dir": "rtl"})
    dirs = {attrs["dir"] for _, attrs in tags(html) if "dir" in attrs}
    assert dirs == {"rtl", "auto"}
    assert "direction:ltr" not in html and "text-align:left" not in html
    # And the lines are in the language, inside the session's right-to-left cell
    label = ROOMS[0]["label"][language]
    lines = [
        tr(language, YOUR_ROOM) % {"room": f"{FSI}{label}{PDI}"},
        tr(language, INTO) % {"language": {"ar": "العربية", "ur": "اردو"}[language]},
    ]
    cell = re.search(
        r'<td dir="rtl" style="direction:rtl;text-align:right;[^"]*padding:10px[^>]*>'
        r"(.*?)</td>",
        html,
        re.DOTALL,
    )
    assert cell is not None
    for line in lines:
        assert line in cell.group(1)
        assert line in received.text
    # And the channel is the custom language's English name, as Zoom lists it
    assert tr(language, CHANNEL) % {"channel": {"ar": "Arabic", "ur": "Urdu"}[language]} in html


def test_an_event_without_interpretation_settings_keeps_its_one_note(majlis: Services) -> None:
    # Given the reference event as it was (no session says anything of interpretation)
    received = confirmation(majlis, registrant(majlis, "fr"))
    # Then the French email has the one event-wide note, and no per-session line
    assert tr("fr", INTERPRETATION) % {"source": "arabe", "target": "français (French)"} in (
        received.text
    )
    for msgid in (HELD, INTO, NOT_OFFERED, CHANNEL):
        assert not mentions(received.text, "fr", msgid)


def test_a_reminder_and_an_announcement_carry_the_interpretation(majlis: Services) -> None:
    event = conference(majlis, interpretation=INTO_UR_NOT_MS)
    urdu = registrant(majlis, "ur")
    links = links_of(event, urdu)
    reminder = Campaign(
        campaign_id="r1",
        event_id=EVENT_ID,
        name="reminder",
        audience=Audience(),
        content={},
        purpose="reminder",
        session_id="education",
        created_at=NOW,
    )
    rendered = reminder_mail(event, reminder, urdu, links)
    for body in (rendered.text, rendered.html):
        assert tr("ur", INTO) % {"language": "اردو"} in body
        assert tr("ur", CHANNEL) % {"channel": "Urdu"} in body
    announcement = Campaign(
        campaign_id="a1",
        event_id=EVENT_ID,
        name="programme",
        audience=Audience(),
        content={"ur": Content(subject="پروگرام", text="آپ کے سیشن:\n{{sessions}}")},
        created_at=NOW,
    )
    rendered = announcement_mail(event, announcement, urdu, links, f"{BASE}/unsubscribe/x")
    for body in (rendered.text, rendered.html):
        assert tr("ur", INTO) % {"language": "اردو"} in body
        assert tr("ur", CHANNEL) % {"channel": "Urdu"} in body


def test_a_programme_change_notice_carries_the_interpretation(majlis: Services) -> None:
    # Given an Urdu and a Malay registrant of an interpreted session
    body = event_body()
    body["sessions"][0]["interpretation"] = INTO_UR_NOT_MS
    put_event(majlis, EVENT_ID, body)
    registrant(majlis, "ur", 1)
    registrant(majlis, "ms", 2)
    # When the session moves, and the notice goes out
    body["sessions"][0].update(starts_at="2027-03-06T12:30:00Z", ends_at="2027-03-06T14:30:00Z")
    saved = put_event(majlis, EVENT_ID, body)
    majlis.mailer.sent.clear()
    assert campaigns.fan_out(majlis, notice_id(EVENT_ID, saved.event.revision), lambda: 900)
    while majlis.mail_queue.jobs:
        send_campaign_mail(majlis, CampaignMail.model_validate(majlis.mail_queue.jobs.pop(0)))
    # Then each notice's sessions say what the session offers the reader
    told = {}
    for sent in majlis.mailer.sent:
        message = email.message_from_bytes(sent["raw"], policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        language = majlis.registrations.registrations[sent["tags"]["registration"]].language
        told[language] = {
            kind: part.get_content()
            for kind in ("plain", "html")
            if (part := message.get_body((kind,))) is not None
        }
    assert sorted(told) == ["ms", "ur"]
    for body in told["ur"].values():
        assert tr("ur", INTO) % {"language": "اردو"} in body
        assert tr("ur", CHANNEL) % {"channel": "Urdu"} in body
    for body in told["ms"].values():
        assert mentions(body, "ms", NOT_OFFERED)
        assert not mentions(body, "ms", CHANNEL)


# -- rooms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "room", "name"),
    [
        ("ur", "main", f"{FSI}مرکزی ہال{PDI}"),  # the label in the reader's language
        ("fr", "main", f"{FSI}القاعة الرئيسية{PDI}"),  # else in the event's default one
        ("ms", "overflow", None),  # no label: "Room 2"
    ],
)
def test_the_email_names_the_room(
    majlis: Services, language: str, room: str, name: str | None
) -> None:
    # Given a session of three rooms and a registrant seated in one
    conference(majlis, rooms=ROOMS)
    received = confirmation(majlis, registrant(majlis, language, room=room))
    expected = tr(language, YOUR_ROOM) % {
        "room": name or tr(language, ROOM_NUMBER) % {"number": "2"}
    }
    # Then the session's block names it, in both parts
    assert expected in received.text
    assert expected in received.html
    title = event_body()["sessions"][0]["title"].get(language) or "التعليم والمستقبل"
    assert block_of(received.text, title)[-2] == expected
    # And so does the calendar entry, under the join link
    education, youth = calendar_descriptions(received)
    assert expected in education
    assert not mentions(youth, language, YOUR_ROOM)
    # And a watch room is not said of a Zoom room
    assert tr(language, WATCHING) not in received.text


def test_a_watch_room_says_the_link_opens_the_live_stream(majlis: Services) -> None:
    conference(majlis, rooms=ROOMS)
    received = confirmation(majlis, registrant(majlis, "es", room="watch"))
    room = tr("es", YOUR_ROOM) % {"room": tr("es", LIVE_STREAM)}
    watching = tr("es", WATCHING)
    for body in (received.text, received.html):
        assert room in body
        assert watching in body
    education, _ = calendar_descriptions(received)
    assert room in education and watching in education


def test_a_session_of_one_zoom_names_no_room(majlis: Services) -> None:
    received = confirmation(majlis, registrant(majlis, "en"))
    assert "Your room" not in received.text
    assert "Your room" not in received.html


def test_a_watch_room_is_told_no_zoom_channel(majlis: Services) -> None:
    # Given an Urdu registrant watching the stream of a session interpreted into Urdu
    conference(majlis, interpretation=INTO_UR_NOT_MS, rooms=ROOMS)
    received = confirmation(majlis, registrant(majlis, "ur", room="watch"))
    # Then they are not told to choose a channel in Zoom: they are not in Zoom
    assert not mentions(received.text, "ur", CHANNEL)
    assert tr("ur", WATCHING) in received.text
