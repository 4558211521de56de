"""The HTML of the emails as a reader's client shows it: a confirmation, a session's
reminder and a day's reminder in each of the 7 languages, right to left for ar and ur,
with no axe-core violation, each photographed."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest

from chalicelib.domain.events import LANGUAGES, RTL_LANGUAGES
from chalicelib.jobs import CampaignMail
from chalicelib.mail.render import registration_mail
from chalicelib.ports import Services
from chalicelib.signed_links import registration_links
from chalicelib.usecases import campaigns, reminders
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_campaign_mail
from tests.browser.support import Page, describe
from tests.builders import person
from tests.fakes import TEST_KEYS
from tests.unit.support import EVENT_ID, configure

START = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)  # the first day's first session


def _html(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    return str(message["Subject"]), message.get_body(("html",)).get_content()


def _emails(majlis: Services, clock, language: str) -> dict[str, tuple[str, str]]:
    """Subject and HTML of each kind for a reader in ``language`` holding two sessions of
    the first day: the confirmation, the day's reminder, the first session's."""
    configure(majlis, registration={"opens_at": "2027-02-01T00:00:00Z"})
    event = majlis.events.get(EVENT_ID)
    day_one = [s.id for s in event.sessions if s.starts_at.date() == START.date()]
    clock.now = START - timedelta(days=10)
    outcome = register(
        majlis,
        EVENT_ID,
        person(0, sessions=day_one[:2], language=language, timezone="Asia/Kuala_Lumpur"),
        form=False,
    )
    registration = majlis.registrations.registrations[outcome.registration_id]
    links = registration_links(TEST_KEYS, "https://r.example.org", event, registration)
    confirmation = registration_mail(event, registration, links, clock.now)
    found = {"confirmation": (confirmation.subject, confirmation.html)}
    for kind, moment in (
        ("day", START - timedelta(hours=23)),
        ("session", START - timedelta(minutes=50)),
    ):
        clock.now = moment
        reminders.run(majlis)
        for campaign_id in list(majlis.campaigns.campaigns):
            campaigns.fan_out(majlis, campaign_id, lambda: 900)
        while majlis.mail_queue.jobs:
            job = CampaignMail.model_validate(majlis.mail_queue.jobs.pop(0))
            send_campaign_mail(majlis, job)
        found[kind] = _html(majlis.mailer.sent[-1]["raw"])
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_emails_read_in_their_language_with_no_axe_violation(
    majlis: Services, clock, page: Page, axe_source, tmp_path: Path, language: str
):
    emails = _emails(majlis, clock, language)
    assert emails["day"][1].count("/join/") == 2 and emails["session"][1].count("/join/") == 1
    assert emails["day"][0] != emails["session"][0]  # "your sessions", the session's title
    for kind, (subject, html) in emails.items():
        path = tmp_path / f"{kind}-{language}.html"
        path.write_text(html, encoding="utf-8")
        page.open(path.as_uri())
        direction = "rtl" if language in RTL_LANGUAGES else "ltr"
        assert page.js("return document.documentElement.lang") == language, kind
        assert page.js("return document.documentElement.dir") == direction, kind
        assert page.js("return document.title") == subject, kind
        page.shot(f"{kind}-{language}")
        violations = page.axe_violations()
        assert not violations, f"{kind} ({language}):\n{describe(violations)}"
