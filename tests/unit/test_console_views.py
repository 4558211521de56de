"""The console's views on plain data: the overview's rates against SES's review
thresholds, registrations over time in the event's zone, and SES's holds said in the
organiser's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.events import Event
from chalicelib.domain.stats import report
from chalicelib.pages.console import overview_document, ses_reason
from tests.builders import event_body

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _event() -> Event:
    return Event.model_validate({**event_body(), "id": "conf"})


def _rates(sent: int, bounced: int, complained: int) -> dict[str, str]:
    counters = {"email.sent": sent, "email.bounced": bounced, "email.complained": complained}
    document = overview_document(_event(), report(counters), "en", NOW)
    return {rate["key"]: rate["level"] for rate in document["emails"]["rates"]}


@pytest.mark.parametrize(
    ("bounced", "complained", "levels"),
    [
        (0, 0, {"bounce": "ok", "complaint": "ok"}),
        (249, 4, {"bounce": "ok", "complaint": "ok"}),  # 2.49 %, 0.04 %
        (250, 5, {"bounce": "warning", "complaint": "warning"}),  # half of 5 % and 0.1 %
        (500, 10, {"bounce": "over", "complaint": "over"}),  # SES reviews from here
    ],
)
def test_bounce_and_complaint_rates_are_flagged_before_ses_s_thresholds(
    bounced, complained, levels
):
    assert _rates(10_000, bounced, complained) == levels


def test_registrations_over_time_are_counted_by_day_in_the_event_s_zone():
    event = _event()  # Asia/Jerusalem or another zone ahead of UTC
    counters = {"hour.2027-02-28T21": 2, "hour.2027-02-28T23": 3, "hour.2027-03-01T08": 4}
    document = overview_document(event, report(counters), "en", NOW)
    days = {day["at"]: day["value"] for day in document["over_time"]["days"]}
    hours = [hour["value"] for hour in document["over_time"]["hours"]]
    assert hours == [2, 3, 4]
    assert sum(days.values()) == 9
    assert days.get("2027-03-01", 0) >= 4  # 23:00 UTC is already 1 March east of UTC


def test_ses_holds_are_said_in_the_organiser_s_language_and_others_left_alone():
    paused = ses_reason("SendingPausedException: Sending is paused for this account.", "fr")
    assert paused and "SES" in paused and paused != ses_reason("SendingPausedException", "en")
    assert ses_reason("The 24-hour sending quota is reached; sending resumes.", "en")
    assert ses_reason("MessageRejected: Email address is not verified.", "en") is None
    assert ses_reason(None, "en") is None


def test_majlis_s_own_campaigns_are_named_in_the_organiser_s_language_newest_first(majlis):
    from chalicelib.domain.campaigns import Audience, Campaign
    from chalicelib.domain.organizers import ConsoleSession, Organizer
    from chalicelib.pages.console import campaigns_page
    from chalicelib.usecases.campaigns import of_event
    from chalicelib.usecases.console import SignedIn

    event = majlis.events.get("conf")
    first = event.sessions[0]
    for n, (purpose, name) in enumerate(
        [
            ("announcement", "Day two"),
            ("change", "Programme change 3"),
            ("reminder", f"Reminder P1D before {first.id}"),
            ("reminder", "Reminder P1D before 2027-03-07"),  # a day's
        ]
    ):
        majlis.campaigns.create(
            Campaign(
                campaign_id=f"{'z' if n == 0 else 'a'}{n:025d}",  # ids that do not sort by time
                event_id="conf",
                name=name,
                audience=Audience(),
                content={},
                purpose=purpose,
                created_at=NOW.replace(minute=n),
            )
        )
    listed = of_event(majlis, "conf")
    assert [item["name"] for item in listed][-1] == "Day two"  # the oldest, last

    signed = SignedIn(
        ConsoleSession("h" * 64, "k" * 32, "csrf", NOW),
        Organizer("k" * 32, "a@example.org", "fr", {"conf": "send"}),
    )
    html, _ = campaigns_page(signed, event, listed, "fr", "http://127.0.0.1:8000")
    assert "Programme change 3" not in html and first.title_in("fr", "ar") in html
    assert "Reminder P1D" not in html and "· 7 mars 2027" in html
