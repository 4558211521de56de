"""Announcements on fakes: who gets them, what they say, and exactly once.

The fan-out and the sends run here as the workers run them; crashes are simulated at
each point where a Lambda can die, and every run ends with one email per recipient.
"""

from __future__ import annotations

import email
import json
import time
from collections import Counter
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from chalicelib.domain.registrations import EmailStatus
from chalicelib.jobs import CampaignMail
from chalicelib.ports import CampaignEmail, Services
from chalicelib.usecases import campaigns
from chalicelib.usecases.delivery import SesEvent, apply_ses_event
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import SOON, RetryLater, send_campaign_mail
from tests.builders import person
from tests.unit.support import EVENT_ID, configure, field_codes, problem_of

CONTENT = {
    "ar": {"subject": "إعلان إلى {{first_name}}", "text": "مرحبًا {{first_name}}\n\n{{sessions}}"},
    "ur": {
        "subject": "اعلان: {{first_name}}",
        "text": "السلام علیکم {{first_name}} {{last_name}}\n\n{{join_links}}",
        "html": "<p>السلام علیکم {{first_name}}</p>{{sessions}}{{join_links}}",
    },
    "en": {"subject": "News for {{first_name}}", "text": "Hello {{first_name}}: {{manage_url}}"},
}


@pytest.fixture
def event(majlis: Services):
    return configure(majlis)


def _people(majlis: Services, specs: list[dict[str, Any]]) -> list[str]:
    return [
        register(majlis, EVENT_ID, person(n, **spec), form=False).registration_id
        for n, spec in enumerate(specs)
    ]


def _campaign(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Day 2", "content": CONTENT}
    body.update(overrides)
    return body


def _send_all(majlis: Services) -> list[dict[str, int]]:
    """Run the mail worker over every queued campaign job (taking them off the queue)."""
    outcomes = []
    while majlis.announcement_queue.jobs:
        job = majlis.announcement_queue.jobs.pop(0)
        outcomes.append(send_campaign_mail(majlis, CampaignMail.model_validate(job)))
    return outcomes


def _messages(majlis: Services) -> list[EmailMessage]:
    return [
        email.message_from_bytes(sent["raw"], policy=policy.default) for sent in majlis.mailer.sent
    ]


def _recipients(majlis: Services) -> Counter[str]:
    return Counter(sent["recipient"] for sent in majlis.mailer.sent)


def _run(majlis: Services, body: dict[str, Any]) -> str:
    status, answer = campaigns.create(majlis, EVENT_ID, body)
    assert status == 202
    assert campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900).outcome == "queued"
    _send_all(majlis)
    return answer["campaign_id"]


# -- who -------------------------------------------------------------------------------


def test_a_segment_gets_exactly_that_segment_and_the_dry_run_counts_the_same(majlis, event):
    specs = [
        {"language": "ur", "country": "PK", "sessions": ["youth"]},  # in
        {"language": "ur", "country": "PK", "sessions": ["youth", "health"]},  # in
        {"language": "ur", "country": "PK", "sessions": ["health"]},  # other session
        {"language": "ur", "country": "IN", "sessions": ["youth"]},  # other country
        {"language": "en", "country": "PK", "sessions": ["youth"]},  # other language
    ]
    ids = _people(majlis, specs)
    audience = {"languages": ["ur"], "countries": ["pk"], "sessions": ["youth"]}
    status, dry = campaigns.create(majlis, EVENT_ID, _campaign(audience=audience, dry_run=True))
    assert (status, dry) == (
        200,
        {"recipients": 2, "by_language": {"ur": 2}, "fallbacks": {}, "suppressed": 0},
    )
    assert majlis.campaigns.campaigns == {}  # a dry run stores nothing
    _run(majlis, _campaign(audience=audience))
    assert _recipients(majlis) == {"person0@example.org": 1, "person1@example.org": 1}
    assert {sent["tags"]["registration"] for sent in majlis.mailer.sent} == set(ids[:2])


def test_unsubscribed_bounced_complained_and_no_updates_are_suppressed(majlis, event):
    ids = _people(majlis, [{"language": "en"}] * 5 + [{"language": "en", "updates": False}])
    now = majlis.clock()
    majlis.registrations.unsubscribe(ids[1], now)
    majlis.registrations.set_email_status(ids[2], EmailStatus.BOUNCED, now)
    majlis.registrations.set_email_status(ids[3], EmailStatus.COMPLAINED, now)
    _, dry = campaigns.create(majlis, EVENT_ID, _campaign(dry_run=True))
    assert dry == {"recipients": 6, "by_language": {"en": 2}, "fallbacks": {}, "suppressed": 4}
    campaign_id = _run(majlis, _campaign())
    assert _recipients(majlis) == {"person0@example.org": 1, "person4@example.org": 1}
    stored = majlis.campaigns.get(campaign_id)
    assert (stored.recipients, stored.queued, stored.suppressed) == (6, 2, 4)


def test_someone_who_unsubscribes_after_the_fan_out_gets_nothing(majlis, event):
    ids = _people(majlis, [{"language": "en"}, {"language": "en"}])
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900)
    majlis.registrations.unsubscribe(ids[0], majlis.clock())
    assert _send_all(majlis) == [{"suppressed": 1, "sent": 1}]
    key = CampaignEmail(answer["campaign_id"])
    assert majlis.send_log.records[(ids[0], key)]["state"] == "suppressed"


def test_languages_without_content_fall_back_to_the_default_and_are_counted(majlis, event):
    # Given registrants in Turkish and French, and content in ar, ur and en only
    _people(majlis, [{"language": "tr"}] * 3 + [{"language": "fr"}] * 2 + [{"language": "en"}])
    # Then the dry run and the creation say who reads the Arabic text instead
    status, dry = campaigns.create(majlis, EVENT_ID, _campaign(dry_run=True))
    assert (status, dry["by_language"], dry["fallbacks"]) == (
        200,
        {"ar": 5, "en": 1},
        {"fr": 2, "tr": 3},
    )
    status, created = campaigns.create(majlis, EVENT_ID, _campaign())
    assert (status, created["fallbacks"]) == (202, {"fr": 2, "tr": 3})


def test_a_waitlisted_person_is_not_in_the_default_audience(majlis):
    configure(majlis, capacity=1)
    _people(majlis, [{"language": "en"}, {"language": "en"}])
    _run(majlis, _campaign())
    assert _recipients(majlis) == {"person0@example.org": 1}


# -- what ------------------------------------------------------------------------------


def test_each_recipient_reads_their_own_language_with_one_click_unsubscribe(majlis, event):
    _people(
        majlis,
        [
            {"language": "ur", "first_name": "Ayesha"},
            {"language": "ar", "first_name": "Huda"},
            {"language": "tr", "first_name": "Elif"},  # no Turkish content: the default
        ],
    )
    _run(majlis, _campaign())
    by_address = {str(m["To"].addresses[0].addr_spec): m for m in _messages(majlis)}
    urdu, arabic, turkish = (by_address[f"person{n}@example.org"] for n in range(3))
    assert str(urdu["Subject"]) == "اعلان: Ayesha"
    assert str(arabic["Subject"]) == "إعلان إلى Huda"
    assert str(turkish["Subject"]) == "إعلان إلى Elif"  # Arabic, the event's default
    for message, language in ((urdu, "ur"), (arabic, "ar"), (turkish, "ar")):
        assert message["Content-Language"] == language
        unsubscribe = str(message["List-Unsubscribe"])
        assert unsubscribe.startswith("<http") and "/unsubscribe/" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == "<conf.example.org>"
        link = unsubscribe.strip("<>")
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        assert link in text and link in html  # visible in both parts
        assert 'dir="rtl"' in html


def test_placeholders_give_the_recipients_own_sessions_and_links(majlis, event):
    _people(majlis, [{"language": "ur", "sessions": ["youth"], "timezone": "Asia/Karachi"}])
    _run(majlis, _campaign())
    (message,) = _messages(majlis)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.count("/join/") == 1 and html.count("/join/") == 1
    assert "{{" not in text and "{{" not in html


def test_a_script_in_a_name_stays_text(majlis, event):
    _people(majlis, [{"language": "ur", "first_name": "<script>alert(1)</script>"}])
    _run(majlis, _campaign())
    (message,) = _messages(majlis)
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "template",
    [
        "{{ first_name.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ first_name|attr('__class__') }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% set x = 1 %}",
        "{# hidden #}",
        "{{ email }}",
        "{{ 7 * 7 }}",
        "{{ first_name",
        "{% raw %}{{ first_name }}{% endraw %}",
    ],
)
def test_anything_but_a_placeholder_is_refused_at_creation(majlis, event, template):
    body = _campaign(content={"ar": {"subject": "s", "text": template}})
    problem = problem_of(lambda: campaigns.create(majlis, EVENT_ID, body))
    assert problem.status == 422
    assert ("content.ar.text", "template") in field_codes(problem)
    assert majlis.campaigns.campaigns == {}


def test_the_default_language_is_required_and_the_rest_must_fit_the_event(majlis, event):
    body = _campaign(
        content={"en": CONTENT["en"], "de": CONTENT["en"]},
        audience={"languages": ["xx"], "countries": ["ZZ"], "sessions": ["nope"]},
    )
    codes = field_codes(problem_of(lambda: campaigns.create(majlis, EVENT_ID, body)))
    assert set(codes) >= {
        ("content", "default_language_missing"),
        ("content.de", "unknown_language"),
        ("audience.languages.0", "unknown_language"),
        ("audience.countries.0", "unknown_country"),
        ("audience.sessions.0", "unknown_session"),
    }


def test_unknown_fields_and_bad_subjects_are_refused(majlis, event):
    for body in (
        _campaign(colour="red"),
        _campaign(content={"ar": {"subject": "a\r\nBcc: x@example.org", "text": "t"}}),
        _campaign(content={"ar": {"subject": "", "text": "t"}}),
    ):
        assert problem_of(lambda b=body: campaigns.create(majlis, EVENT_ID, b)).status == 422


# -- exactly once ----------------------------------------------------------------------


def test_a_fan_out_that_dies_after_each_page_resumes_without_skipping_anyone(
    majlis, event, monkeypatch
):
    monkeypatch.setattr(campaigns, "PAGE", 3)
    monkeypatch.setattr(campaigns, "PER_MESSAGE", 2)
    _people(majlis, [{"language": "en"}] * 11)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaign_id = answer["campaign_id"]
    real_advance = majlis.campaigns.advance
    crashes = 0

    def dies_before_the_checkpoint(*args: Any) -> bool:
        nonlocal crashes
        if crashes < 4:  # the page is queued, then the Lambda dies
            crashes += 1
            raise TimeoutError("Lambda killed")
        return real_advance(*args)

    monkeypatch.setattr(majlis.campaigns, "advance", dies_before_the_checkpoint)
    outcomes = []
    for _ in range(30):
        try:
            result = campaigns.fan_out(majlis, campaign_id, lambda: 0)  # time up each page
        except TimeoutError:
            continue  # SQS delivers the job again
        outcomes.append(result.outcome)
        if result.outcome == "queued":
            break
    assert outcomes[-1] == "queued" and outcomes.count("continue") == 3
    assert crashes == 4
    _send_all(majlis)
    assert _recipients(majlis) == {f"person{n}@example.org": 1 for n in range(11)}
    stored = majlis.campaigns.get(campaign_id)
    assert (stored.recipients, stored.queued, stored.fanned_out) == (11, 11, True)


def test_a_second_worker_on_the_same_job_stops_at_the_checkpoint(majlis, event, monkeypatch):
    monkeypatch.setattr(campaigns, "PAGE", 2)
    _people(majlis, [{"language": "en"}] * 4)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaign_id = answer["campaign_id"]
    stale = majlis.campaigns.get(campaign_id)
    assert campaigns.fan_out(majlis, campaign_id, lambda: 900).outcome == "queued"
    # A duplicate delivery that read the campaign before the first worker moved it on.
    assert not majlis.campaigns.advance(campaign_id, stale.cursor, "x", {"queued": 2})
    assert campaigns.fan_out(majlis, campaign_id, lambda: 900).outcome == "queued"
    _send_all(majlis)
    assert sum(_recipients(majlis).values()) == 4


def test_a_worker_killed_before_the_ses_call_is_taken_over_after_its_lease(
    majlis, event, clock, monkeypatch
):
    _people(majlis, [{"language": "en"}] * 3)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900)
    job = CampaignMail.model_validate(majlis.announcement_queue.jobs[0])
    real_send = majlis.mailer.send
    calls = 0

    def killed_on_the_second(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise SystemExit("Lambda killed between the send record and the SES call")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(majlis.mailer, "send", killed_on_the_second)
    with pytest.raises(SystemExit):
        send_campaign_mail(majlis, job)
    with pytest.raises(RetryLater) as held:  # its claim is still held
        send_campaign_mail(majlis, job)
    # After the queue's visibility timeout: 20 of them outlast the claim's lease
    assert held.value.seconds is None
    clock.advance(seconds=majlis.settings.send_lease_seconds + 1)
    # Those sent before the crash (sends run side by side) are recognised; the one
    # whose worker died is sent by the next.
    again = send_campaign_mail(majlis, job)
    assert again["sent"] == 1 and again["duplicate"] == 2
    assert _recipients(majlis) == {f"person{n}@example.org": 1 for n in range(3)}


def test_a_worker_killed_after_the_ses_call_is_completed_by_the_send_event(
    majlis, event, clock, monkeypatch
):
    ids = _people(majlis, [{"language": "en"}] * 2)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaign_id = answer["campaign_id"]
    campaigns.fan_out(majlis, campaign_id, lambda: 900)
    job = CampaignMail.model_validate(majlis.announcement_queue.jobs[0])
    real_sent = majlis.send_log.sent

    def killed_after_the_call(*args: Any) -> None:
        raise SystemExit("Lambda killed after SES accepted the email")

    monkeypatch.setattr(majlis.send_log, "sent", killed_after_the_call)
    with pytest.raises(SystemExit):
        send_campaign_mail(majlis, job)
    monkeypatch.setattr(majlis.send_log, "sent", real_sent)
    assert {sent["tags"]["registration"] for sent in majlis.mailer.sent} == set(ids)
    # SES's Send events for those emails arrive through the configuration set, tagged.
    for sent in majlis.mailer.sent:
        send_event = {
            "eventType": "Send",
            "mail": {
                "messageId": sent["id"],
                "tags": {name: [value] for name, value in sent["tags"].items()},
            },
            "send": {},
        }
        assert apply_ses_event(majlis, SesEvent.parse(json.dumps(send_event))) == "confirmed"
    clock.advance(seconds=majlis.settings.send_lease_seconds + 1)
    assert send_campaign_mail(majlis, job) == {"duplicate": 2}
    assert _recipients(majlis) == {"person0@example.org": 1, "person1@example.org": 1}


def test_a_throttled_send_gives_its_claim_back_and_the_job_comes_again(majlis, event, monkeypatch):
    from chalicelib.ports import Throttled

    _people(majlis, [{"language": "en"}] * 3)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900)
    job = CampaignMail.model_validate(majlis.announcement_queue.jobs[0])
    real_send = majlis.mailer.send
    calls = 0

    def throttled_once(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Throttled()
        return real_send(*args, **kwargs)

    monkeypatch.setattr(majlis.mailer, "send", throttled_once)
    with pytest.raises(RetryLater) as throttled:
        send_campaign_mail(majlis, job)
    assert throttled.value.seconds is None  # the queue's visibility timeout
    again = send_campaign_mail(majlis, job)
    assert again["sent"] == 1 and again["duplicate"] == 2  # the throttled one, now
    assert _recipients(majlis) == {f"person{n}@example.org": 1 for n in range(3)}


# -- schedule and cancel ---------------------------------------------------------------


def test_a_scheduled_campaign_waits_for_its_time(majlis, event, clock):
    _people(majlis, [{"language": "en"}])
    later = clock() + timedelta(hours=2)
    _, answer = campaigns.create(
        majlis, EVENT_ID, _campaign(send_at=later.isoformat().replace("+00:00", "Z"))
    )
    result = campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900)
    assert (result.outcome, result.delay) == ("wait", 900)  # SQS's longest delay
    assert majlis.announcement_queue.jobs == []
    clock.advance(seconds=2 * 3600)
    assert campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900).outcome == "queued"
    assert len(majlis.announcement_queue.jobs) == 1


def test_a_cancelled_campaign_stops_its_fan_out_and_its_sends(majlis, event, monkeypatch):
    monkeypatch.setattr(campaigns, "PAGE", 2)
    _people(majlis, [{"language": "en"}] * 5)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaign_id = answer["campaign_id"]
    assert campaigns.fan_out(majlis, campaign_id, lambda: 0).outcome == "continue"
    assert campaigns.cancel(majlis, EVENT_ID, campaign_id)["status"] == "cancelled"
    assert campaigns.fan_out(majlis, campaign_id, lambda: 900).outcome == "stopped"
    assert _send_all(majlis) == [{"stopped": 2}]
    assert majlis.mailer.sent == []
    # Cancelling again answers the same; an unknown campaign is a 404.
    assert campaigns.cancel(majlis, EVENT_ID, campaign_id)["status"] == "cancelled"
    assert problem_of(lambda: campaigns.cancel(majlis, EVENT_ID, "0" * 26)).status == 404


# -- pauses ----------------------------------------------------------------------------


def test_sending_paused_holds_the_campaign_with_a_reason_and_resumes(majlis, event):
    _people(majlis, [{"language": "en"}] * 3)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaign_id = answer["campaign_id"]
    campaigns.fan_out(majlis, campaign_id, lambda: 900)
    job = CampaignMail.model_validate(majlis.announcement_queue.jobs[0])
    majlis.mailer.paused = "SendingPausedException: sending is paused for this account"
    with pytest.raises(RetryLater):
        send_campaign_mail(majlis, job)
    held = campaigns.progress(majlis, EVENT_ID, campaign_id)
    assert held["status"] == "sending"
    assert held["reason"].startswith("SendingPausedException")
    assert majlis.mailer.sent == []
    majlis.mailer.paused = None
    assert send_campaign_mail(majlis, job) == {"sent": 3}
    assert "reason" not in campaigns.progress(majlis, EVENT_ID, campaign_id)


def test_the_24_hour_quota_pauses_the_sending_until_it_frees(majlis, event):
    _people(majlis, [{"language": "en"}] * 5)
    majlis.mailer.max_24_hour_send = 3  # the fake counts what it sent as sent today
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaign_id = answer["campaign_id"]
    campaigns.fan_out(majlis, campaign_id, lambda: 900)
    job = CampaignMail.model_validate(majlis.announcement_queue.jobs[0])
    with pytest.raises(RetryLater):
        send_campaign_mail(majlis, job)
    assert len(majlis.mailer.sent) == 3
    assert "24-hour" in campaigns.progress(majlis, EVENT_ID, campaign_id)["reason"]
    majlis.mailer.max_24_hour_send = 100  # a day later
    assert send_campaign_mail(majlis, job) == {"duplicate": 3, "sent": 2}
    assert sum(_recipients(majlis).values()) == 5


def test_a_slow_reservation_still_gets_its_turn(majlis):
    """A pacer round trip longer than one slot (1/rate) must not make a worker give up
    the turns it has just reserved and ask again, forever."""
    from chalicelib.usecases.sending import Pace

    class SlowPacer:
        calls = 0

        def reserve(self, wanted: int, rate: int, now: float, bulk: bool = False) -> list[float]:
            self.calls += 1
            time.sleep(0.03)  # longer than a slot at 50/s (20 ms)
            return [now + i / rate for i in range(wanted)]

    majlis.pacer = SlowPacer()
    majlis.mailer.max_send_rate = 50
    pace = Pace(majlis, ahead=3)
    started = time.monotonic()
    for _ in range(3):
        pace.wait_turn(3)
    assert majlis.pacer.calls == 1
    assert time.monotonic() - started < 1


def test_turns_kept_too_long_are_given_up_for_fresh_ones(majlis):
    from chalicelib.usecases.sending import Pace

    moment = [100.0]
    majlis.mailer.max_send_rate = 10
    pace = Pace(majlis, ahead=8, now=lambda: moment[0], sleep=lambda seconds: None)
    assert pace.next_turn(5) == 100.0  # reserves 100.0, 100.1 (a quarter second's worth)
    moment[0] = 100.5  # the kept turn (100.1) has passed by more than LATE_OK (0.1 s)
    assert pace.next_turn(5) == 100.4  # a fresh one, due no more than LATE_OK ago


def test_a_job_out_of_time_comes_back_at_once_and_finishes(majlis, event):
    _people(majlis, [{"language": "en"}] * 3)
    _, answer = campaigns.create(majlis, EVENT_ID, _campaign())
    campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900)
    job = CampaignMail.model_validate(majlis.announcement_queue.jobs[0])
    left = iter([900.0, 0.0])  # time for the first recipient only
    with pytest.raises(RetryLater) as out_of_time:
        send_campaign_mail(majlis, job, lambda: next(left, 0.0))
    assert out_of_time.value.seconds == SOON
    assert len(majlis.mailer.sent) == 1
    assert send_campaign_mail(majlis, job) == {"duplicate": 1, "sent": 2}
    assert _recipients(majlis) == {f"person{n}@example.org": 1 for n in range(3)}
