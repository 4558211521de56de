"""The confirmation email as a registrant receives it, in each of the 7 languages.

Every email is built by the real mail worker on the fakes, then parsed back the way a
mail client would (``email.policy.default``, ``icalendar``). Expected wording comes from
the ``.po`` catalogs themselves (read with Babel here, independently of the app's own
compiled catalogs), never from English text typed into the test.
"""

from __future__ import annotations

import email
import email.policy
import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from icalendar import Calendar

from chalicelib.domain.registrations import Registration
from chalicelib.jobs import RegistrationMail
from chalicelib.ports import Services
from chalicelib.signed_links import InvalidLink, Purpose, verify
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_registration_mail
from tests.builders import LANGUAGES, SESSION_TITLES, event_body, person
from tests.fakes import TEST_KEYS, Clock
from tests.unit.support import EVENT_ID, configure, field_codes, problem_of

LOCALES = Path(__file__).resolve().parents[2] / "chalicelib" / "locales"
RTL = {"ar", "ur"}
EVENT_TITLES: dict[str, str] = event_body()["title"]
DEFAULT_LANGUAGE = event_body()["default_language"]
SENDER = event_body()["sender"]
# "education" has a Turkish title, "youth" an Urdu one; every other language falls
# back to the Arabic (default language) title for at least one of them.
CHOSEN = ["education", "youth"]

CONFIRMED = "Your registration is confirmed: %(event)s"
WAITLISTED = "You are on the waiting list: %(event)s"
JOIN = "Join this session"
YOUR_SESSIONS = "Your sessions"
WAITLIST_NOTE = (
    "If a place becomes available, we will email you straight away with your "
    "confirmation and your join links. You do not need to do anything."
)
INTERPRETATION = (
    "The sessions are held in %(source)s with simultaneous interpretation. In Zoom, click "
    "“Interpretation” (the globe icon) and choose %(target)s."
)


# -- expected wording, from the catalogs ---------------------------------------------


@functools.cache
def _catalog(language: str) -> dict[str, str]:
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():  # English is the source language
        return {}
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}


def tr(language: str, msgid: str) -> str:
    """``msgid`` in ``language``, as its .po file says (English: the msgid itself)."""
    if language == "en":
        return msgid
    translated = _catalog(language).get(msgid)
    assert translated, f"{language} catalog lacks {msgid!r}"
    return translated


def event_title(language: str) -> str:
    return EVENT_TITLES.get(language) or EVENT_TITLES[DEFAULT_LANGUAGE]


def session_title(session_id: str, language: str) -> str:
    titles = SESSION_TITLES[session_id]
    return titles.get(language) or titles[DEFAULT_LANGUAGE]


# -- sending and reading back ----------------------------------------------------------


@dataclass
class Received:
    registration: Registration
    message: EmailMessage
    raw: bytes

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        # Quoted-printable keeps the wire's CRLF; base64 the text's own LF: read lines.
        return part.get_content().replace("\r\n", "\n")

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return part.get_content()

    @property
    def head(self) -> str:
        return self.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")

    def calendar(self) -> Calendar:
        found = [p for p in self.message.walk() if p.get_content_type() == "text/calendar"]
        assert len(found) == 1
        return Calendar.from_ical(found[0].get_content())


def registered(majlis: Services, **fields: Any) -> Registration:
    outcome = register(majlis, EVENT_ID, person(**fields), form=False)
    return majlis.registrations.registrations[outcome.registration_id]


def send(majlis: Services, registration: Registration, seq: int = 1) -> Received:
    sent_before = len(majlis.mailer.sent)
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=seq)
        )
        == "sent"
    )
    assert len(majlis.mailer.sent) == sent_before + 1
    raw = majlis.mailer.sent[-1]["raw"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return Received(registration, message, raw)


def confirmation(majlis: Services, language: str, **fields: Any) -> Received:
    fields.setdefault("sessions", CHOSEN)
    return send(majlis, registered(majlis, language=language, **fields))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def header_names(head: str) -> list[str]:
    return [line.split(":", 1)[0] for line in head.split("\r\n") if not line[:1].isspace()]


def join_urls(text: str, language: str) -> list[str]:
    return re.findall(rf"^  {re.escape(tr(language, JOIN))}: (\S+)$", text, re.MULTILINE)


def manage_url(text: str) -> str:
    (url,) = re.findall(r"^(\S+/manage/\S+)$", text, re.MULTILINE)
    return url


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


# -- 1. the confirmation, in each language ---------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_confirmation_is_text_html_and_an_invitation(majlis: Services, language: str) -> None:
    # Given a registrant for two sessions, When the confirmation is sent
    received = confirmation(majlis, language)
    message = received.message
    # Then it is mixed [alternative [text, html], invite.ics (a REQUEST)]
    assert message.get_content_type() == "multipart/mixed"
    alternative, invite = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "REQUEST"
    assert invite.get_content_disposition() == "attachment"
    assert invite.get_filename() == "invite.ics"


@pytest.mark.parametrize("language", LANGUAGES)
def test_text_and_html_are_in_the_registrants_language(majlis: Services, language: str) -> None:
    # Given a registrant who reads ``language``
    received = confirmation(majlis, language)
    join_word, sessions_word = tr(language, JOIN), tr(language, YOUR_SESSIONS)
    # Then both parts say "Join this session" and "Your sessions" in that language
    for body in (received.text, received.html):
        assert sessions_word in body
        assert body.count(join_word) == len(CHOSEN)
        if language != "en":
            assert YOUR_SESSIONS not in body
            assert JOIN not in body
        # And the event and session titles are in that language, or the default one
        assert event_title(language) in body
        for session_id in CHOSEN:
            assert session_title(session_id, language) in body


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        # Titles the builders provide in the registrant's language
        ("en", ["Education and the future", "Youth workshop"]),
        ("tr", ["Eğitim ve gelecek", "ورشة الشباب"]),  # "youth" has no Turkish title
        ("ur", ["التعليم والمستقبل", "نوجوانوں کی ورکشاپ"]),  # "education" has no Urdu one
        # No title in the language at all: the event's default (Arabic) title
        ("fr", ["التعليم والمستقبل", "ورشة الشباب"]),
    ],
)
def test_session_titles_fall_back_to_the_default_language(
    majlis: Services, language: str, expected: list[str]
) -> None:
    received = confirmation(majlis, language)
    text = received.text
    bullets = re.findall(r"^\* (.+)$", text, re.MULTILINE)
    assert bullets == expected
    summaries = [str(v["summary"]) for v in received.calendar().walk("VEVENT")]
    assert summaries == [f"{title} — {event_title(language)}" for title in expected]


def test_the_event_title_falls_back_to_the_default_language(majlis: Services) -> None:
    # Given the event has no French title
    assert "fr" not in EVENT_TITLES
    received = confirmation(majlis, "fr")
    # Then the French subject names the event by its Arabic title
    assert received.message["Subject"] == tr("fr", CONFIRMED) % {"event": "جسور المعرفة"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_reads_in_the_languages_direction(majlis: Services, language: str) -> None:
    received = confirmation(majlis, language)
    html = received.html
    expected = "rtl" if language in RTL else "ltr"
    other = "ltr" if language in RTL else "rtl"
    found = tags(html)
    # Then <html lang dir> names the language and its direction
    assert found[0] == ("html", {"lang": language, "dir": expected})
    # And every dir attribute (wrapper, tables, cells) agrees, except the isolated name
    dirs = [attrs["dir"] for _, attrs in found if "dir" in attrs]
    assert len(dirs) > 5
    assert set(dirs) == {expected, "auto"}
    assert f'dir="{expected}"' in html
    assert f'dir="{other}"' not in html
    # And the inline styles say so too (Gmail drops attributes on <html> and <body>)
    assert f"direction:{expected}" in html
    assert f"direction:{other}" not in html
    align = "right" if language in RTL else "left"
    assert f"text-align:{align}" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_subject_is_translated(majlis: Services, language: str) -> None:
    received = confirmation(majlis, language)
    expected = tr(language, CONFIRMED) % {"event": event_title(language)}
    assert received.message["Subject"] == expected


LONG_TITLES = {
    "ur": (
        "بین الاقوامی کانفرنس برائے تعلیم، خاندان، نوجوانوں، سائنس، معیشت، ذرائع ابلاغ، "
        "صحت اور ماحولیات کے موضوعات پر علم کے پل اور باہمی مکالمہ"
    ),
    "ar": (
        "المؤتمر الدولي لجسور المعرفة حول التعليم والأسرة والشباب والعلم والاقتصاد "
        "والإعلام والصحة والبيئة والمسؤولية المشتركة بين الأجيال"
    ),
    "fr": (
        "Conférence internationale « Ponts du savoir » : éducation, famille, jeunesse, "
        "science, économie, médias, santé et environnement à l’ère du numérique"
    ),
}


@pytest.mark.parametrize("language", sorted(LONG_TITLES))
def test_a_long_subject_survives_folding_byte_for_byte(majlis: Services, language: str) -> None:
    # Given an event whose title in the language is long (the header must fold)
    title = LONG_TITLES[language]
    assert len(title) >= 120
    body = event_body()
    configure(majlis, title={**body["title"], language: title})
    # When a registrant in that language gets the confirmation
    received = confirmation(majlis, language)
    # Then the header is folded into several lines of at most 78 characters
    subject_lines = re.search(r"^Subject:.*?(?=\r\n\S)", received.head, re.MULTILINE | re.DOTALL)
    assert subject_lines is not None
    lines = subject_lines.group(0).split("\r\n")
    assert len(lines) > 1
    assert all(len(line) <= 78 for line in lines)
    # And it decodes to exactly the translated subject: no space lost or added at a fold
    expected = tr(language, CONFIRMED) % {"event": title}
    assert received.message["Subject"] == expected
    assert received.message["Subject"].split(" ") == expected.split(" ")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_headers_of_a_transactional_email(majlis: Services, language: str) -> None:
    received = confirmation(majlis, language)
    message = received.message
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"].datetime == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == language
    assert "List-Unsubscribe" not in message
    assert "List-Unsubscribe-Post" not in message
    assert "list-unsubscribe" not in received.head.lower()
    # Each header once
    names = [name.lower() for name in header_names(received.head)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_raw_message_is_seven_bit_with_crlf(majlis: Services, language: str) -> None:
    raw = confirmation(majlis, language, first_name="فاطمہ", last_name="Zoë").raw
    raw.decode("ascii")  # raises on any 8-bit byte
    assert all(byte < 0x80 for byte in raw)
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.count(b"\r") == raw.count(b"\r\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_calendar_invites_to_each_chosen_session(majlis: Services, language: str) -> None:
    # Given a registrant for two sessions
    received = confirmation(majlis, language)
    registration = received.registration
    event = majlis.events.get(EVENT_ID)
    assert event is not None
    urls = join_urls(received.text, language)
    # When the attachment is read as a calendar
    calendar = received.calendar()
    # Then it is a REQUEST with one VEVENT per session, in the registration's order
    assert str(calendar["method"]) == "REQUEST"
    vevents = calendar.walk("VEVENT")
    assert len(vevents) == len(CHOSEN) == len(urls)
    for vevent, session_id, url in zip(vevents, CHOSEN, urls, strict=True):
        session = event.session(session_id)
        assert session is not None
        start, end = vevent.decoded("dtstart"), vevent.decoded("dtend")
        # at the sessions' instants, as tz-aware UTC times
        for moment in (start, end):
            assert isinstance(moment, datetime)
            assert moment.utcoffset() == timedelta(0)
        assert (start, end) == (session.starts_at, session.ends_at)
        assert str(vevent["uid"]) == f"{registration.registration_id}.{session_id}@majlis"
        # with the same personal join link as the text part
        assert str(vevent["url"]) == url
        assert url in str(vevent["description"])
        assert str(vevent["organizer"]) == f"mailto:{SENDER['email']}"
        assert str(vevent["attendee"]) == "mailto:person1@example.org"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_links_are_signed_for_their_purpose(
    majlis: Services, clock: Clock, language: str
) -> None:
    # Given a confirmation sent to a registrant with a recognisable name and address
    received = confirmation(
        majlis, language, first_name="Zaynab", last_name="Qureshi", email="zaynab.q@example.org"
    )
    registration = received.registration
    text, now = received.text, clock()
    urls = join_urls(text, language)
    # Then each join link opens its own session of this registration, and nothing else
    assert len(urls) == len(CHOSEN)
    for url, session_id in zip(urls, CHOSEN, strict=True):
        link = verify(TEST_KEYS, Purpose.JOIN, token_of(url), now)
        assert (link.registration_id, link.session_id) == (
            registration.registration_id,
            session_id,
        )
        with pytest.raises(InvalidLink):
            verify(TEST_KEYS, Purpose.MANAGE, token_of(url), now)
        # and the HTML links to the same URL
        assert f'href="{url}"' in received.html
    # And the manage link is a manage link, not a join link
    manage = manage_url(text)
    link = verify(TEST_KEYS, Purpose.MANAGE, token_of(manage), now)
    assert (link.registration_id, link.session_id) == (registration.registration_id, "")
    with pytest.raises(InvalidLink):
        verify(TEST_KEYS, Purpose.JOIN, token_of(manage), now)
    # And links are short and say nothing about the person
    for url in [*urls, manage]:
        assert len(url) < 200
        token = token_of(url)
        assert "@" not in token
        for private in ("zaynab", "qureshi", "example.org"):
            assert private not in token.lower()


# -- 2. a later email updates the same calendar entries --------------------------------


def test_a_later_email_keeps_the_uids_and_raises_the_sequence(
    majlis: Services, clock: Clock
) -> None:
    # Given a confirmation already sent
    first = confirmation(majlis, "en")
    registration = first.registration
    # When, more than 10 minutes later, the registrant is owed the email again
    clock.advance(minutes=11)
    now = clock()
    status = majlis.registrations.request_mail(
        registration.registration_id, "resend", now, now - timedelta(minutes=10)
    )
    assert status is not None
    current = majlis.registrations.get(registration.registration_id)
    assert current is not None
    assert current.mail_seq == 2
    second = send(majlis, current, seq=2)
    # Then the calendar entries keep their UIDs, with a higher SEQUENCE
    before = first.calendar().walk("VEVENT")
    after = second.calendar().walk("VEVENT")
    assert [str(v["uid"]) for v in after] == [str(v["uid"]) for v in before]
    assert len(after) == len(CHOSEN)
    for old, new in zip(before, after, strict=True):
        assert int(new.decoded("sequence")) > int(old.decoded("sequence"))
    # And it is a new message, not the same one again
    assert second.message["Message-ID"] != first.message["Message-ID"]


# -- 3. the waiting list ---------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_waiting_list_note_has_no_links_and_no_invitation(
    majlis: Services, language: str
) -> None:
    # Given a full event
    configure(majlis, capacity=0)
    # When a registrant lands on its waiting list
    received = confirmation(majlis, language)
    message = received.message
    # Then the email is text and HTML only: no calendar attachment
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert b"text/calendar" not in received.raw
    assert b"invite.ics" not in received.raw
    # And it says so in the registrant's language
    assert message["Subject"] == tr(language, WAITLISTED) % {"event": event_title(language)}
    for body in (received.text, received.html):
        assert tr(language, WAITLIST_NOTE) in body
        assert "/join/" not in body
        assert tr(language, JOIN) not in body
        assert "zoom.us" not in body
    # (no "Your sessions" heading: the word may occur inside other sentences)
    assert tr(language, YOUR_SESSIONS) not in received.text.splitlines()
    assert f">{tr(language, YOUR_SESSIONS)}</h2>" not in received.html
    assert "<h2" not in received.html


# -- 4. the interpretation note --------------------------------------------------------


def test_a_french_registrant_is_told_how_to_choose_french_interpretation(
    majlis: Services,
) -> None:
    received = confirmation(majlis, "fr")
    expected = tr("fr", INTERPRETATION) % {"source": "arabe", "target": "français (French)"}
    for body in (received.text, received.html):
        assert expected in body
        assert "arabe" in body
        assert "français" in body


def test_an_english_registrant_is_told_how_to_choose_english(majlis: Services) -> None:
    received = confirmation(majlis, "en")
    expected = INTERPRETATION % {"source": "Arabic", "target": "English"}
    assert expected in received.text
    assert expected in received.html


def test_an_arabic_registrant_gets_no_interpretation_note(majlis: Services) -> None:
    # Given the sessions are held in Arabic (the event's default language)
    received = confirmation(majlis, "ar")
    # Then an Arabic registrant is not told about interpretation
    template = tr("ar", INTERPRETATION)
    fixed_parts = [p for p in re.split(r"%\(\w+\)s", template) if len(p.strip()) > 10]
    assert fixed_parts
    for body in (received.text, received.html):
        for part in fixed_parts:
            assert part.strip() not in body
        assert "Zoom" not in body


# -- 5. hostile and mixed-script names -------------------------------------------------


def test_a_hostile_name_is_escaped_and_stays_one_display_name(majlis: Services) -> None:
    # Given a name that is HTML and looks like an address (allowed at registration)
    first, last = "<script>alert(1)</script>", '"Amina" <evil@x>'
    received = confirmation(majlis, "en", first_name=first, last_name=last)
    name = f"{first} {last}"
    html, text = received.html, received.text
    # Then the HTML shows it as text
    assert "<script" not in html.lower()
    assert "<evil@x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not [tag for tag, _ in tags(html) if tag == "script"]
    # And the text part shows it as typed (isolated)
    assert f"\u2068{name}\u2069" in text
    # And the headers decode to exactly the given display names and addresses
    (sender,) = received.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (SENDER["name"], SENDER["email"])
    (recipient,) = received.message["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == (name, "person1@example.org")
    assert majlis.mailer.sent[-1]["recipient"] == "person1@example.org"
    # And no header was added (the evil address is nowhere in an address header)
    assert sorted(header_names(received.head)) == sorted(
        [
            "Content-Type",
            "MIME-Version",
            "From",
            "To",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "Content-Language",
            "Auto-Submitted",
        ]
    )
    for field in ("From", "To", "Reply-To"):
        assert all(a.addr_spec != "evil@x" for a in received.message[field].addresses)
    # And the invitation's attendee is still the registrant, named as given
    for vevent in received.calendar().walk("VEVENT"):
        assert str(vevent["attendee"]) == "mailto:person1@example.org"
        assert str(vevent["attendee"].params["cn"]) == name


def test_a_hostile_sender_name_decodes_exactly(majlis: Services) -> None:
    # Given an organiser whose sender name holds quotes, brackets and a comma
    sender_name = 'Majlis "Team", <noreply@evil.example>'
    configure(majlis, sender={"email": "events@example.org", "name": sender_name})
    received = confirmation(majlis, "en")
    (sender,) = received.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (sender_name, "events@example.org")


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_name_with_a_bidi_override_is_refused(majlis: Services, field: str) -> None:
    # Given a name holding U+202E (RIGHT-TO-LEFT OVERRIDE)
    fields = person(language="en", **{field: "Ali\u202egnp.exe"})
    # When it registers, Then it is refused (422) and nothing is stored or sent
    problem = problem_of(lambda: register(majlis, EVENT_ID, fields, form=False))
    assert problem.status == 422
    assert (field, "bidi_control") in field_codes(problem)
    assert majlis.registrations.registrations == {}
    assert majlis.mailer.sent == []


@pytest.mark.parametrize("language", ["ar", "en", "ur"])
def test_a_mixed_script_name_is_isolated(majlis: Services, language: str) -> None:
    # Given a name mixing Arabic and Latin letters
    first, last = "محمد", "Smith-Khan"
    received = confirmation(majlis, language, first_name=first, last_name=last)
    name = f"{first} {last}"
    # Then the HTML isolates it with dir="auto", the text with FSI…PDI
    assert f'<span dir="auto">{name}</span>' in received.html
    assert f"\u2068{name}\u2069" in received.text
    assert received.text.count("\u2068") == received.text.count("\u2069") == 1
    # And the To header still decodes to the name as given
    assert received.message["To"].addresses[0].display_name == name


# -- 6. an international domain ---------------------------------------------------------


def test_an_international_domain_is_written_in_punycode(majlis: Services) -> None:
    # Given a registrant whose address has a Unicode domain
    received = confirmation(majlis, "fr", email="user@bücher.example")
    # Then the raw To header carries the punycode domain
    (to_line,) = [line for line in re.split(r"\r\n(?!\s)", received.head) if line.startswith("To:")]
    assert "user@xn--bcher-kva.example" in to_line
    assert received.message["To"].addresses[0].addr_spec == "user@xn--bcher-kva.example"
    assert majlis.mailer.sent[-1]["recipient"] == "user@xn--bcher-kva.example"
    # And so does the invitation's attendee
    for vevent in received.calendar().walk("VEVENT"):
        assert str(vevent["attendee"]) == "mailto:user@xn--bcher-kva.example"
