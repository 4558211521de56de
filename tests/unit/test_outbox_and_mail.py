"""The outbox (table changes -> mail jobs) and the mail worker (one email per mail_seq),
on the fakes; and what the email looks like once parsed back."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest

from chalicelib.domain.events import LANGUAGES
from chalicelib.domain.registrations import EmailStatus, Registration, Status
from chalicelib.jobs import RegistrationMail, parse
from chalicelib.mail import mime
from chalicelib.ports import Change, Services
from chalicelib.usecases.outbox import jobs_for, relay
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import RetryLater, send_registration_mail
from tests.builders import person
from tests.fakes import Clock
from tests.unit.support import EVENT_ID, configure

# -- the outbox ---------------------------------------------------------------------


def item(registration_id: str = "r1", mail_seq: Any = 1, kind: str = "registration") -> dict:
    return {"kind": kind, "registration_id": registration_id, "mail_seq": mail_seq}


def job(registration_id: str, seq: int, correlation_id: str = "") -> dict[str, Any]:
    return {
        "type": "registration_mail",
        "registration_id": registration_id,
        "seq": seq,
        "correlation_id": correlation_id,
    }


def bodies(jobs: list[Any]) -> list[dict[str, Any]]:
    """Jobs as the queue carries them."""
    return [json.loads(job.message()) for job in jobs]


def test_a_new_registration_becomes_one_mail_job() -> None:
    change = Change("1", "INSERT", {}, item("r1"), record_id="stream-1")
    assert bodies(jobs_for(change)) == [job("r1", 1, "stream-1")]


def test_a_change_that_raises_mail_seq_becomes_one_job() -> None:
    # Given a registration whose mail_seq goes from 1 to 2 (numbers as the stream gives them)
    change = Change("2", "MODIFY", item(mail_seq=Decimal(1)), item(mail_seq=Decimal(2)))
    # Then one job for sequence 2
    assert bodies(jobs_for(change)) == [job("r1", 2)]


@pytest.mark.parametrize(("old", "new"), [(1, 1), (2, 2), (3, 2)])
def test_a_change_that_does_not_raise_mail_seq_owes_nothing(old: int, new: int) -> None:
    assert jobs_for(Change("2", "MODIFY", item(mail_seq=old), item(mail_seq=new))) == []


def test_a_removed_registration_owes_nothing() -> None:
    assert jobs_for(Change("3", "REMOVE", item(), {})) == []


@pytest.mark.parametrize("kind", ["seats", "email", "event", "token", "send"])
def test_other_kinds_of_item_owe_nothing(kind: str) -> None:
    assert jobs_for(Change("4", "INSERT", {}, item(kind=kind))) == []
    assert jobs_for(Change("5", "MODIFY", item(kind=kind), item(kind=kind, mail_seq=2))) == []


def test_a_job_is_what_the_worker_reads() -> None:
    (body,) = bodies(jobs_for(Change("1", "INSERT", {}, item("r9", mail_seq=3))))
    read = parse(RegistrationMail, json.dumps(body))
    assert (read.registration_id, read.seq) == ("r9", 3)
    with pytest.raises(ValueError, match="refused"):
        parse(RegistrationMail, json.dumps({**body, "type": "campaign_mail"}))


def batch() -> list[Change]:
    return [
        Change("100", "INSERT", {}, item("a")),
        Change("101", "INSERT", {}, item("s", kind="seats")),  # no job
        Change("102", "MODIFY", item("b", 1), item("b", 2)),
        Change("103", "INSERT", {}, item("c")),
    ]


def test_relay_queues_every_job_in_order(majlis: Services) -> None:
    assert relay(majlis, batch()) is None
    assert majlis.mail_queue.jobs == [job("a", 1), job("b", 2), job("c", 1)]


def test_relay_of_changes_without_jobs_queues_nothing(majlis: Services) -> None:
    assert relay(majlis, [Change("1", "INSERT", {}, item(kind="seats"))]) is None
    assert relay(majlis, []) is None
    assert majlis.mail_queue.jobs == []


@pytest.mark.parametrize(
    ("failing", "retry_from"), [({0}, "100"), ({1}, "102"), ({2}, "103"), ({1, 2}, "102")]
)
def test_relay_answers_the_first_change_whose_job_failed(
    majlis: Services, failing: set[int], retry_from: str
) -> None:
    # Given a queue that refuses some of the jobs
    majlis.mail_queue.fail_indexes = failing
    # When a batch is relayed, Then the stream is told where to retry from
    assert relay(majlis, batch()) == retry_from


# -- the mail worker ----------------------------------------------------------------


def registered(majlis: Services, **overrides: Any) -> Registration:
    outcome = register(majlis, EVENT_ID, person(**overrides), form=False)
    return majlis.registrations.registrations[outcome.registration_id]


def update(majlis: Services, registration: Registration, **changes: Any) -> Registration:
    changed = registration.model_copy(update=changes)
    majlis.registrations.registrations[registration.registration_id] = changed
    return changed


def send_state(majlis: Services, registration: Registration, seq: int = 1) -> dict | None:
    return majlis.send_log.records.get((registration.registration_id, seq))


def test_a_job_delivered_twice_sends_one_email(majlis: Services) -> None:
    # Given a new registration and its mail job
    registration = registered(majlis)
    mail_job = RegistrationMail(registration_id=registration.registration_id, seq=1)
    # When the job is delivered twice
    first = send_registration_mail(majlis, mail_job)
    second = send_registration_mail(majlis, mail_job)
    # Then one email went out, to the registrant, and the log says so
    assert (first, second) == ("sent", "duplicate")
    assert len(majlis.mailer.sent) == 1
    sent = majlis.mailer.sent[0]
    assert (sent["sender"], sent["recipient"]) == ("events@example.org", "person1@example.org")
    assert sent["tags"] == {
        "event": EVENT_ID,
        "registration": registration.registration_id,
        "kind": "registered",
        "seq": "1",  # with the registration: which send record SES's Send event completes
    }
    assert send_state(majlis, registration)["state"] == "sent"
    assert send_state(majlis, registration)["message_id"] == sent["id"]


def test_a_superseded_job_sends_nothing(majlis: Services) -> None:
    # Given a registration that is owed a newer email (mail_seq 2)
    registration = update(majlis, registered(majlis), mail_seq=2)
    # When the older job arrives, Then nothing is sent
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=1)
        )
        == "superseded"
    )
    assert majlis.mailer.sent == []
    # And the current job sends
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=2)
        )
        == "sent"
    )
    assert len(majlis.mailer.sent) == 1


def test_a_job_ahead_of_the_stored_registration_is_retried(majlis: Services) -> None:
    registration = registered(majlis)
    with pytest.raises(RetryLater):
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=2)
        )
    assert majlis.mailer.sent == []


def test_a_job_for_a_registration_that_is_gone_sends_nothing(majlis: Services) -> None:
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id="01j0000000000000000000000", seq=1)
        )
        == "gone"
    )
    assert majlis.mailer.sent == []


def test_a_cancelled_registration_is_not_emailed(majlis: Services) -> None:
    registration = update(majlis, registered(majlis), status=Status.CANCELLED)
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=1)
        )
        == "cancelled"
    )
    assert majlis.mailer.sent == []


def test_throttling_retries_later_then_sends_once(majlis: Services) -> None:
    # Given SES throttles the next two sends
    registration = registered(majlis)
    majlis.mailer.throttle = 2
    mail_job = RegistrationMail(registration_id=registration.registration_id, seq=1)
    # When the job is tried three times
    for _ in range(2):
        with pytest.raises(RetryLater):
            send_registration_mail(majlis, mail_job)
        # (the claim is given back, so the retry can take it at once)
        assert send_state(majlis, registration) is None
    assert send_registration_mail(majlis, mail_job) == "sent"
    # Then one email went out and the log ends "sent"
    assert len(majlis.mailer.sent) == 1
    assert send_state(majlis, registration)["state"] == "sent"


def test_a_permanent_rejection_is_recorded_and_not_retried(majlis: Services) -> None:
    # Given SES rejects the message for good
    registration = registered(majlis)
    majlis.mailer.reject = "MessageRejected: bad"
    mail_job = RegistrationMail(registration_id=registration.registration_id, seq=1)
    # When the job runs, Then it does not raise and the reason is recorded
    assert send_registration_mail(majlis, mail_job) == "rejected"
    record = send_state(majlis, registration)
    assert (record["state"], record["reason"]) == ("failed", "MessageRejected: bad")
    # And a redelivery does not try again
    majlis.mailer.reject = None
    assert send_registration_mail(majlis, mail_job) == "duplicate"
    assert majlis.mailer.sent == []


@pytest.mark.parametrize("status", [EmailStatus.BOUNCED, EmailStatus.COMPLAINED])
def test_a_bounced_or_complaining_address_gets_nothing(
    majlis: Services, status: EmailStatus
) -> None:
    registration = update(majlis, registered(majlis), email_status=status)
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=1)
        )
        == "suppressed"
    )
    assert majlis.mailer.sent == []
    # The email owed is recorded as suppressed (the event's stats count it), once.
    assert send_state(majlis, registration) == {"state": "suppressed", "event_id": "conf"}
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=1)
        )
        == "suppressed"
    )
    assert majlis.mailer.sent == []


def test_an_unsubscribed_registrant_still_gets_the_confirmation(majlis: Services) -> None:
    # Unsubscribing stops announcements, not confirmations (API.md)
    registration = update(majlis, registered(majlis), email_status=EmailStatus.UNSUBSCRIBED)
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=1)
        )
        == "sent"
    )


def test_a_send_in_progress_elsewhere_is_retried_then_taken_over(
    majlis: Services, clock: Clock
) -> None:
    # Given another worker claimed this email just now and has not finished
    registration = registered(majlis)
    majlis.send_log.claim(registration.registration_id, 1, "registered", clock())
    mail_job = RegistrationMail(registration_id=registration.registration_id, seq=1)
    # When the job arrives, Then it is retried later and nothing is sent
    with pytest.raises(RetryLater):
        send_registration_mail(majlis, mail_job)
    clock.advance(seconds=majlis.settings.send_lease_seconds)
    with pytest.raises(RetryLater):
        send_registration_mail(majlis, mail_job)
    assert majlis.mailer.sent == []
    # When the other worker's lease has run out, Then this worker takes over and sends
    clock.advance(seconds=1)
    assert send_registration_mail(majlis, mail_job) == "sent"
    assert len(majlis.mailer.sent) == 1
    assert send_state(majlis, registration)["state"] == "sent"


# -- the email itself ---------------------------------------------------------------


class _HtmlRoot(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html" and self.attrs is None:
            self.attrs = dict(attrs)


def html_root(html: str) -> dict[str, str | None]:
    parser = _HtmlRoot()
    parser.feed(html)
    assert parser.attrs is not None
    return parser.attrs


def mail_for(majlis: Services, **overrides: Any) -> tuple[EmailMessage, bytes]:
    registration = registered(majlis, **overrides)
    assert (
        send_registration_mail(
            majlis, RegistrationMail(registration_id=registration.registration_id, seq=1)
        )
        == "sent"
    )
    raw = majlis.mailer.sent[-1]["raw"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message, raw


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def test_the_confirmation_headers(majlis: Services) -> None:
    # Given an English-speaking registrant
    message, raw = mail_for(majlis, language="en", first_name="Amina", last_name="Rahman")
    # Then the headers decode to what they should say
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Bridges of Knowledge", "events@example.org")
    (recipient,) = message["To"].addresses
    assert (recipient.display_name, recipient.addr_spec) == ("Amina Rahman", "person1@example.org")
    assert message["Reply-To"] == "help@example.org"
    assert message["Subject"] == "Your registration is confirmed: Bridges of Knowledge"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Date"].datetime == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    # And there is no unsubscribe header on a transactional email
    assert "List-Unsubscribe" not in message
    assert b"List-Unsubscribe" not in raw


def test_the_message_is_seven_bit_with_crlf_line_ends(majlis: Services) -> None:
    _, raw = mail_for(majlis, language="ur", first_name="فاطمہ")
    raw.decode("ascii")
    assert raw.count(b"\n") == raw.count(b"\r\n")


def test_the_message_has_text_and_html_alternatives(majlis: Services) -> None:
    message, _ = mail_for(majlis, language="en")
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("method") == "REQUEST"
    text, html = parts(message)
    assert "Amina" in text
    assert "Education and the future" in text
    assert "Education and the future" in html
    for part in message.walk():
        if not part.is_multipart():
            assert part.get_content_charset() == "utf-8"


@pytest.mark.parametrize("language", LANGUAGES)
def test_content_language_and_direction_follow_the_registrant(
    majlis: Services, language: str
) -> None:
    # Given a registrant who reads the given language
    message, _ = mail_for(majlis, language=language)
    # Then the message is labelled with it and reads in its direction
    assert message["Content-Language"] == language
    _, html = parts(message)
    expected = "rtl" if language in ("ar", "ur") else "ltr"
    assert html_root(html) == {"lang": language, "dir": expected}


def test_an_arabic_confirmation_is_in_arabic(majlis: Services) -> None:
    message, _ = mail_for(majlis, language="ar")
    assert "جسور المعرفة" in message["Subject"]
    text, html = parts(message)
    assert "التعليم والمستقبل" in text
    assert "التعليم والمستقبل" in html


def test_a_name_is_escaped_in_html(majlis: Services) -> None:
    # Given a name that is HTML
    message, _ = mail_for(majlis, language="en", first_name="<script>alert(1)</script>")
    text, html = parts(message)
    # Then the HTML shows it as text, and the plain text has it as typed
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in text


def test_a_name_with_quotes_and_brackets_stays_a_display_name(majlis: Services) -> None:
    # Given a name that looks like an address
    name = '"O\'Brien" <x@y.org>, bcc@evil.example'
    message, raw = mail_for(majlis, language="en", first_name=name, last_name=None)
    # Then the To header still has exactly one address: the registrant's
    (recipient,) = message["To"].addresses
    assert recipient.addr_spec == "person1@example.org"
    assert recipient.display_name == name
    assert majlis.mailer.sent[-1]["recipient"] == "person1@example.org"
    # And no header was added by the name
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = {line.split(":", 1)[0] for line in head.split("\r\n") if not line[:1].isspace()}
    assert names == {
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "MIME-Version",
        "Content-Type",
        "Content-Language",
    }


def test_a_name_in_arabic_is_encoded_in_the_header(majlis: Services) -> None:
    message, raw = mail_for(majlis, language="ar", first_name="عبد\u200cالله", last_name=None)
    assert message["To"].addresses[0].display_name == "عبد\u200cالله"
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0]


def test_an_international_domain_is_sent_to_in_punycode(majlis: Services) -> None:
    message, _ = mail_for(majlis, email="user@bücher.example")
    assert message["To"].addresses[0].addr_spec == "user@xn--bcher-kva.example"
    assert majlis.mailer.sent[-1]["recipient"] == "user@xn--bcher-kva.example"


def test_a_waitlisted_registrant_gets_the_waiting_list_note(majlis: Services) -> None:
    # Given a full event and a registrant on its waiting list
    configure(majlis, capacity=0)
    message, _ = mail_for(majlis, language="en")
    # Then the email says so, and lists no sessions
    assert message["Subject"] == "You are on the waiting list: Bridges of Knowledge"
    assert majlis.mailer.sent[-1]["tags"]["kind"] == "waitlisted"
    text, html = parts(message)
    assert "waiting list" in text
    assert "Education and the future" not in text
    assert "Education and the future" not in html
    assert "zoom.us" not in text + html


@pytest.mark.parametrize(
    "field", ["recipient_name", "sender_name", "subject"], ids=["to", "from", "subject"]
)
def test_cr_or_lf_can_never_reach_a_header(field: str) -> None:
    # Given a mail whose header text holds a line break and a header after it
    fields: dict[str, Any] = {
        "sender_name": "Majlis",
        "sender_address": "events@example.org",
        "recipient_name": "Amina",
        "recipient_address": "amina@example.org",
        "subject": "Hello",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "language": "en",
        "sent_at": datetime(2027, 3, 1, tzinfo=UTC),
        field: "Amina\r\nBcc: evil@example.org",
    }
    # When it is built, Then it is refused rather than sent with an extra header
    with pytest.raises(ValueError, match=r"CR or LF|linefeed or carriage return"):
        mime.build(mime.Mail(**fields))
