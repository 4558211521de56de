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
