"""What the pages offer: time zones by place in the page's language, sessions by time slot,
the thank-you page's zone, and the attendee's own page (address, join buttons, resend).

The views are rendered as the pages entrypoint renders them, with no AWS: an event and a
registration built in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from chalicelib import i18n
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, RegistrationForm, Status
from chalicelib.domain.zones import zone_aliases
from chalicelib.pages import views
from tests.builders import NOW, event_body, person

WINTER = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2027, 7, 15, 12, 0, tzinfo=UTC)


def parallel_event(**overrides: Any) -> Event:
    """The test conference with ``family`` at the same time as ``education`` (one slot of
    two) and ``media`` cancelled."""
    body = event_body(**overrides)
    body["sessions"][1]["starts_at"] = body["sessions"][0]["starts_at"]
    body["sessions"][1]["ends_at"] = body["sessions"][0]["ends_at"]
    body["sessions"][5]["status"] = "cancelled"
    return Event.model_validate({**body, "id": "conf"})


def plain_event(**overrides: Any) -> Event:
    return Event.model_validate({**event_body(**overrides), "id": "conf"})


def registration_of(
    event: Event, status: Status = Status.REGISTERED, **fields: Any
) -> Registration:
    fields = {"language": "en", "sessions": ["youth"], **fields}
    form = RegistrationForm.model_validate(person(1, **fields), context={"event": event})
    return Registration.new("01ARZ3NDEKTSV4RRFFQ69G5FAV", event, form, NOW).model_copy(
        update={"status": status}
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[int, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self.tags:
            index = len(self.tags) - 1
            self.texts[index] = self.texts.get(index, "") + data


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def options(html: str, select_id: str = "timezone") -> list[tuple[str, str, bool]]:
    """(value, text, selected) of a select's options, in order."""
    parser = _Tags()
    parser.feed(html)
    inside = False
    found = []
    for index, (tag, attrs) in enumerate(parser.tags):
        if tag == "select":
            inside = attrs.get("id") == select_id
        elif inside and tag == "option":
            text = parser.texts.get(index, "").strip()
            found.append((str(attrs.get("value")), text, "selected" in attrs))
    return found


def inputs(html: str, **attrs: str) -> list[dict[str, str | None]]:
    return [
        a for t, a in tags(html) if t == "input" and all(a.get(k) == v for k, v in attrs.items())
    ]


def gettext(language: str, text: str) -> str:
    return i18n.translations(language).gettext(text)


# -- the zone picker -------------------------------------------------------------------


def test_zones_are_named_by_city_and_country_in_the_page_language_with_their_offset():
    picker = views.zone_picker(plain_event(), "ur", WINTER, country="PK", selected="")
    (karachi,) = picker.first
    assert karachi.value == "Asia/Karachi"
    assert karachi.label == "کراچی — پاکستان (UTC+05:00)"
    labels = {option.value: option.label for option in picker.rest}
    turkey = i18n.locale("ur").territories["TR"]
    assert labels["Europe/Istanbul"] == f"استنبول — {turkey} (UTC+03:00)"
    # Found by its English names too, on a page in another language
    assert karachi.search == "Karachi Pakistan"


def test_the_country_zones_come_first_its_main_zone_first_then_every_other_region():
    picker = views.zone_picker(plain_event(), "en", WINTER, country="us", selected="")
    assert picker.country == "US"
    assert picker.country_label == "United States"
    first = [option.value for option in picker.first]
    assert first[0] == "America/New_York"  # the main zone: most people's
    assert {"America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"} <= set(first)
    rest = [option.value for option in picker.rest]
    assert not set(first) & set(rest)
    assert "Asia/Karachi" in rest and "Europe/Istanbul" in rest
    # One zone per region, sorted by what people read
    labels = [option.label for option in picker.rest]
    assert labels == sorted(labels, key=str.casefold)
    assert len(first) + len(rest) > 400


@pytest.mark.parametrize(
    ("zone_name", "moment", "offset"),
    [
        ("Europe/London", WINTER, "UTC+00:00"),
        ("Europe/London", SUMMER, "UTC+01:00"),
        ("Asia/Kolkata", WINTER, "UTC+05:30"),
        ("America/St_Johns", WINTER, "UTC-03:30"),
        ("America/St_Johns", SUMMER, "UTC-02:30"),
        ("Asia/Kathmandu", SUMMER, "UTC+05:45"),
    ],
)
def test_each_zone_shows_its_offset_at_the_time_of_the_page(zone_name, moment, offset):
    picker = views.zone_picker(plain_event(), "en", moment, country=None, selected="")
    (option,) = [o for o in picker.rest if o.value == zone_name]
    assert option.label.endswith(f"({offset})")


def test_the_event_names_countries_its_own_way_in_the_zone_list():
    event = plain_event(country_names={"PS": {"ar": "فلسطين", "en": "Palestine"}})
    picker = views.zone_picker(event, "ar", WINTER, country="PS", selected="")
    assert picker.country_label == "فلسطين"
    assert {o.value for o in picker.first} == {"Asia/Gaza", "Asia/Hebron"}
    assert all(o.label.rsplit(" (", 1)[0].endswith("— فلسطين") for o in picker.first)
    # CLDR's own name where the event set none for the language
    french = views.zone_picker(event, "fr", WINTER, country="PS", selected="")
    assert french.country_label == i18n.locale("fr").territories["PS"]


def test_ukraine_s_zones_start_with_kyiv_not_with_zone_tab_s_first_crimea():
    picker = views.zone_picker(plain_event(), "en", WINTER, country="UA", selected="")
    assert [(o.value, o.rank) for o in picker.first] == [
        ("Europe/Kyiv", 0),
        ("Europe/Simferopol", 1),
    ]
    # What the scripts read: the country's zone of rank 0 is what "my country's" gives
    html, _ = views.registration_page(
        plain_event(), "en", NOW, base_url="https://m.example", values={"country": "UA"}
    )
    ranked = {a["value"]: a.get("data-rank") for t, a in tags(html) if t == "option"}
    assert ranked["Europe/Kyiv"] == "0"
    assert ranked["Europe/Simferopol"] == "1"
    assert options(html)[1][0] == "Europe/Kyiv"


def test_a_zone_that_is_no_region_of_its_own_is_still_offered_when_it_is_the_current_one():
    # Registered through the API or Zoom with an older name: the manage page keeps it.
    picker = views.zone_picker(plain_event(), "en", WINTER, country="IN", selected="Asia/Calcutta")
    assert picker.rest[0].value == "Asia/Calcutta"
    assert picker.rest[0].label == "Kolkata — India (UTC+05:30)"
    assert [o.value for o in picker.first] == ["Asia/Kolkata"]


def test_the_browser_s_older_zone_names_lead_to_the_region_offered():
    aliases = zone_aliases()
    assert aliases["Asia/Calcutta"] == "Asia/Kolkata"
    assert aliases["Europe/Kiev"] == "Europe/Kyiv"
    assert aliases["US/Eastern"] == "America/New_York"
    offered = {
        o.value
        for o in views.zone_picker(plain_event(), "en", WINTER, country=None, selected="").rest
    }
    assert set(aliases.values()) <= offered


def test_the_registration_page_offers_the_zone_of_my_country_first_and_chosen():
    html, status = views.registration_page(plain_event(), "ur", NOW, base_url="https://m.example")
    assert status == 200
    listed = options(html)
    assert listed[0] == ("", gettext("ur", "The time zone of my country"), True)
    assert sum(selected for _, _, selected in listed) == 1
    assert ("Asia/Karachi", "کراچی — پاکستان (UTC+05:00)", False) in listed
    # Values stay IANA names, and every region is there once
    values = [value for value, _, _ in listed[1:]]
    assert len(values) == len(set(values)) > 400
    # The script's data: the picker's words and the browser's older names
    assert 'id="majlis-zones"' in html
    assert "/assets/zones.js" in html


def test_a_form_sent_back_keeps_the_chosen_zone_with_the_country_first():
    html, status = views.registration_page(
        plain_event(),
        "en",
        NOW,
        base_url="https://m.example",
        values={"country": "PK", "timezone": "Asia/Karachi", "email": "x@"},
        errors={"email": "Please enter a valid email address."},
    )
    assert status == 422
    listed = options(html)
    assert listed[0] == ("", "The time zone of my country", False)
    assert listed[1] == ("Asia/Karachi", "Karachi — Pakistan (UTC+05:00)", True)
    groups = [a.get("label") for t, a in tags(html) if t == "optgroup"]
    assert groups == ["Pakistan", "All time zones"]


def test_the_country_list_uses_the_event_s_names_sorted_as_the_others():
    event = plain_event(country_names={"PS": {"ar": "فلسطين"}})
    html, _ = views.registration_page(event, "ar", NOW, base_url="https://m.example")
    countries = options(html, "country")[1:]
    names = dict((value, text) for value, text, _ in countries)
    assert names["PS"] == "فلسطين"
    texts = [text for _, text, _ in countries]
    assert texts == sorted(texts, key=str.casefold)
    # Other languages keep CLDR's
    english, _ = views.registration_page(event, "en", NOW, base_url="https://m.example")
    assert (
        dict((v, t) for v, t, _ in options(english, "country"))["PS"]
        == (i18n.locale("en").territories["PS"])
    )


# -- sessions by time slot -------------------------------------------------------------


def test_the_programme_is_time_slots_with_cancelled_sessions_shown_not_offered():
    items = views.programme(parallel_event(), "en")
    kinds = [(item["kind"], item.get("name")) for item in items]
    assert kinds[0] == ("parallel", "slot-0")
    assert [s["id"] for s in items[0]["sessions"]] == ["education", "family"]
    assert items[0]["legend"].startswith("At the same time, choose one: ")
    assert "(Jerusalem)" in items[0]["legend"]
    singles = [item["session"]["id"] for item in items if item["kind"] == "single"]
    assert singles == ["youth", "science", "economy", "health", "environment"]
    (cancelled,) = [item for item in items if item["kind"] == "cancelled"]
    assert cancelled["session"]["id"] == "media"
    # In time order: media (day 2, second) between economy and health
    order = [item.get("session", {}).get("id") for item in items]
    assert order.index("media") == order.index("economy") + 1


def test_the_registration_page_has_a_radio_group_per_parallel_slot_none_chosen():
    html, _ = views.registration_page(parallel_event(), "en", NOW, base_url="https://m.example")
    radios = inputs(html, type="radio")
    assert [(r["name"], r["value"]) for r in radios] == [
        ("slot-0", "education"),
        ("slot-0", "family"),
        ("slot-0", ""),
    ]
    assert not [r for r in radios if "checked" in r]
    assert "None of these" in html
    # A one-session slot stays a ticked checkbox; a cancelled session is no input at all
    boxes = {
        str(b["value"]): "checked" in b for b in inputs(html, type="checkbox", name="sessions")
    }
    assert boxes == dict.fromkeys(["youth", "science", "economy", "health", "environment"], True)
    assert not inputs(html, value="media")
    assert 'id="session-media-cancelled"' in html
    # The group is a fieldset whose legend names the time
    fieldsets = [a for t, a in tags(html) if t == "fieldset"]
    assert {"id": "slot-0", "class": "slot"} in fieldsets


def test_a_form_sent_back_keeps_the_chosen_session_of_each_slot():
    html, _ = views.registration_page(
        parallel_event(),
        "en",
        NOW,
        base_url="https://m.example",
        values={"sessions": ["family", "science"]},
        errors={"email": "x"},
    )
    assert {str(r["value"]) for r in inputs(html, type="radio") if "checked" in r} == {"family"}
    ticked = {
        str(b["value"]) for b in inputs(html, type="checkbox", name="sessions") if "checked" in b
    }
    assert ticked == {"science"}


@pytest.mark.parametrize(
    ("posted", "sessions"),
    [
        ({"sessions": ["youth"], "slot-0": "family"}, ["youth", "family"]),
        ({"slot-0": "", "sessions": ["youth"]}, ["youth"]),
        ({"slot-0": "education", "slot-3": "health"}, ["education", "health"]),
        ({"slot-0": ""}, []),  # none of anything: a field error, not every session
        ({"slot-0": ["education", "family"]}, ["education", "family"]),  # validated later
    ],
)
def test_the_slots_radio_groups_become_the_sessions_the_use_cases_read(posted, sessions):
    fields = views.posted_sessions({"email": "a@example.org", **posted})
    assert fields == {"email": "a@example.org", "sessions": sessions}


def test_a_form_without_slots_is_left_as_it_came():
    fields = {"email": "a@example.org", "sessions": ["youth"]}
    assert views.posted_sessions(fields) is fields
    assert views.posted_sessions({"email": "a@example.org"}) == {"email": "a@example.org"}


@pytest.mark.parametrize("code", ["overlapping_sessions", "cancelled_session", "choose_per_slot"])
def test_the_slot_refusals_have_their_own_message(code):
    assert code in views.FIELD_MESSAGES
    assert views.client_messages("en")["fields"][code] == views.FIELD_MESSAGES[code]


# -- the thank-you page ----------------------------------------------------------------


def test_the_thank_you_page_names_the_zone_of_the_emails_and_where_to_change_it():
    event = plain_event()
    html, status = views.thanks_page(
        event, "ur", Status.REGISTERED, base_url="https://m.example", timezone="Asia/Karachi"
    )
    assert status == 200
    assert "کراچی — پاکستان" in html
    manage = gettext("ur", "Manage my registration")
    assert manage in html
    assert 'href="https://m.example/events/conf/links?lang=ur"' in html


def test_the_thank_you_page_of_someone_already_registered_names_no_zone():
    html, _ = views.thanks_page(plain_event(), "en", Status.REGISTERED, base_url="https://m.e")
    assert "this time zone" not in html
    assert 'href="https://m.e/events/conf/links?lang=en"' in html


def test_the_registration_page_links_to_the_lost_links_page():
    html, _ = views.registration_page(plain_event(), "fr", NOW, base_url="https://m.example")
    assert 'href="https://m.example/events/conf/links?lang=fr"' in html
    assert gettext("fr", "Already registered? Get your links again") in html


# -- the attendee's own page -----------------------------------------------------------


def _manage(registration: Registration, event: Event, **kwargs: Any) -> str:
    html, _ = views.manage_page(
        registration, event, base_url="https://m.example", token="tok", now=NOW, **kwargs
    )
    return html


def _links(registration: Registration) -> dict[str, str]:
    return {s: f"https://m.example/join/{s}-token" for s in registration.sessions}


def _join_buttons(html: str) -> list[str]:
    return [str(a["href"]) for t, a in tags(html) if t == "a" and "button" in str(a.get("class"))]


def test_the_manage_page_shows_the_address_isolated_and_the_status():
    event = parallel_event()
    registration = registration_of(event, email="Amira.Test@Example.org", language="ar")
    html = _manage(registration, event, join_links=_links(registration))
    assert '<span dir="ltr" class="address">Amira.Test@Example.org</span>' in html
    assert gettext("ar", "You are registered.") in html


def test_a_registered_person_gets_a_join_button_per_session_held():
    event = parallel_event()
    registration = registration_of(event, sessions=["family", "youth"])
    html = _manage(registration, event, join_links=_links(registration))
    assert _join_buttons(html) == [
        "https://m.example/join/family-token",
        "https://m.example/join/youth-token",
    ]


def test_a_waitlisted_person_gets_no_join_button():
    event = parallel_event()
    registration = registration_of(event, Status.WAITLISTED, sessions=["family", "youth"])
    html = _manage(registration, event, join_links=_links(registration))
    assert _join_buttons(html) == []
    assert "You are on the waiting list." in html
    assert "If a place becomes available, we will email you straight away" in html


def test_no_join_button_for_a_cancelled_or_ended_session():
    body = event_body()
    body["sessions"][2]["status"] = "cancelled"  # youth
    event = Event.model_validate({**body, "id": "conf"})
    registration = registration_of(plain_event(), sessions=["education", "youth"])
    html, _ = views.manage_page(
        registration,
        event,
        base_url="https://m.example",
        token="tok",
        now=event.session("education").ends_at + timedelta(minutes=1),  # type: ignore[union-attr]
        join_links=_links(registration),
    )
    assert _join_buttons(html) == []
    assert "This session has ended." in html
    assert "Cancelled" in html


def test_the_manage_page_times_are_in_the_registrant_s_zone_first():
    event = plain_event()
    registration = registration_of(event, timezone="Asia/Karachi", sessions=["education"])
    html = _manage(registration, event, join_links=_links(registration))
    start = html.index('id="held-education"')
    times = html[start : html.index("</li>", start)]
    assert times.index("(Karachi)") < times.index("(Jerusalem)") < times.index("(Istanbul)")


def test_the_resend_button_posts_action_resend_to_the_page():
    event = plain_event()
    registration = registration_of(event)
    html = _manage(registration, event, join_links=_links(registration))
    forms = html.split("<form")[1:]
    (resend,) = [form for form in forms if 'name="action" value="resend"' in form]
    assert 'method="post" action="https://m.example/manage/tok"' in resend
    assert "Email me my links again" in resend
    assert 'type="submit"' in resend


def test_the_manage_page_offers_the_slots_with_what_is_held_chosen():
    event = parallel_event()
    holds_one = registration_of(event, sessions=["family", "youth"])
    html = _manage(holds_one, event)
    checked = {(r["name"], r["value"]) for r in inputs(html, type="radio") if "checked" in r}
    assert checked == {("slot-0", "family")}
    holds_none = registration_of(event, sessions=["youth"])
    checked = {
        (r["name"], r["value"])
        for r in inputs(_manage(holds_none, event), type="radio")
        if "checked" in r
    }
    assert checked == {("slot-0", "")}  # "None of these": what they hold


def test_the_manage_page_lists_the_registrant_s_country_zones_first_with_theirs_chosen():
    event = plain_event()
    registration = registration_of(event, country="TR", language="tr", timezone="Europe/Istanbul")
    listed = options(_manage(registration, event))
    assert listed[0][0] == "Europe/Istanbul"
    assert listed[0][2] is True
    assert listed[0][1].startswith("İstanbul — Türkiye (UTC+03:00)")
    assert "" not in [value for value, _, _ in listed]  # no "my country's zone" here


def chain_event() -> Event:
    """education 12-14, family 13-15 and youth 14:30-16:30: family overlaps both others,
    which do not overlap each other."""
    body = event_body()
    body["sessions"][1].update(starts_at="2027-03-06T13:00:00Z", ends_at="2027-03-06T15:00:00Z")
    body["sessions"][2].update(starts_at="2027-03-06T14:30:00Z", ends_at="2027-03-06T16:30:00Z")
    return Event.model_validate({**body, "id": "conf"})


def test_sessions_overlapping_only_through_another_are_boxes_none_ticked_at_first():
    event = chain_event()
    assert [[s.id for s in slot] for slot in event.slots()][:3] == [
        ["education"],
        ["family"],
        ["youth"],
    ]
    assert event.clashes(["education", "youth"]) == []
    assert event.clashes(["education", "family", "youth"]) == [
        ("education", "family"),
        ("family", "youth"),
    ]
    assert event.has_parallel_sessions
    html, _ = views.registration_page(event, "en", NOW, base_url="https://m.example")
    assert not inputs(html, type="radio")
    boxes = {
        str(b["value"]): "checked" in b for b in inputs(html, type="checkbox", name="sessions")
    }
    assert boxes == {
        **dict.fromkeys(["education", "family", "youth"], False),
        **dict.fromkeys(["science", "economy", "media", "health", "environment"], True),
    }
    # The first and the last may be held together; not either with the middle one
    held = registration_of(event, sessions=["education", "youth"])
    assert held.sessions == ["education", "youth"]
    with pytest.raises(ValueError, match="overlapping_sessions"):
        registration_of(event, sessions=["education", "family"])


def test_the_manage_page_of_someone_holding_two_sessions_now_at_one_time_keeps_both():
    # Given someone who chose education and family before family was moved onto education
    before = plain_event()
    registration = registration_of(before, sessions=["education", "family", "youth"])
    event = parallel_event()
    html = _manage(registration, event)
    # Then the slot offers boxes with both held ticked (a radio group would drop one),
    # and says to keep one
    assert not [r for r in inputs(html, type="radio") if r["name"] == "slot-0"]
    ticked = {
        str(b["value"]) for b in inputs(html, type="checkbox", name="sessions") if "checked" in b
    }
    assert ticked == {"education", "family", "youth"}
    assert 'id="slot-0-note"' in html
    assert "Some of these sessions are at the same time" in html
    # And in Arabic, translated
    arabic = _manage(registration.model_copy(update={"language": "ar"}), event)
    assert "Some of these sessions are at the same time" not in arabic
    assert 'id="slot-0-note"' in arabic
