"""The registration field table of API.md, row by row, on the in-memory fakes.

Each rule is shown with accepted values (and what is stored) and refused values (422 with
the field and the stable error code). Form bodies go through ``web.read_body`` first, as
the route does, so the form cases see exactly what a browser's submission becomes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.domain.ids import is_id
from chalicelib.domain.registrations import Registration, Seats, Status
from chalicelib.entrypoints.bodies import FORM, read_body
from chalicelib.ports import Services
from chalicelib.usecases.registrations import (
    FORM_BOOLS,
    FORM_LISTS,
    Registered,
    register,
)
from tests.builders import person
from tests.fakes import Clock
from tests.unit.support import EVENT_ID, configure, field_codes, problem_of

ALL_SESSIONS = [
    "education",
    "family",
    "youth",
    "science",
    "economy",
    "media",
    "health",
    "environment",
]


def sign_up(majlis: Services, fields: dict[str, Any], event_id: str = EVENT_ID) -> Registered:
    return register(majlis, event_id, fields, form=False)


def refused(majlis: Services, fields: dict[str, Any], form: bool = False) -> list[tuple[str, str]]:
    """The (field, code) pairs of the 422 that ``fields`` get; nothing may be stored."""
    problem = problem_of(lambda: register(majlis, EVENT_ID, fields, form=form))
    assert problem.status == 422
    assert majlis.registrations.registrations == {}
    return field_codes(problem)


def stored(majlis: Services, registered: Registered) -> Registration:
    return majlis.registrations.registrations[registered.registration_id]


def submit_form(majlis: Services, pairs: list[tuple[str, str]]) -> Registered:
    """A browser's urlencoded submission, parsed as the route parses it."""
    fields, kind = read_body(urlencode(pairs).encode(), FORM, lists=FORM_LISTS, bools=FORM_BOOLS)
    return register(majlis, EVENT_ID, fields, form=kind == FORM)


def form_pairs(**overrides: str) -> list[tuple[str, str]]:
    fields = {
        "email": "form@example.org",
        "first_name": "Amina",
        "last_name": "Rahman",
        "country": "my",
        "language": "ms",
        "timezone": "Asia/Kuala_Lumpur",
        "consent": "on",
    }
    fields.update(overrides)
    return list(fields.items())


def form_pairs_dict(**overrides: str) -> dict[str, Any]:
    """A form as read_body returns it: strings, and consent already a boolean."""
    return {**dict(form_pairs(**overrides)), "consent": True}


def without(field: str, **overrides: Any) -> dict[str, Any]:
    fields = person(**overrides)
    del fields[field]
    return fields


# -- email --------------------------------------------------------------------------


def test_a_valid_registration_is_stored_with_what_was_sent(majlis: Services) -> None:
    # Given a complete, valid body
    # When the person registers
    outcome = sign_up(majlis, person(updates=False))
    # Then a new registration is stored with each field as sent (country upper case)
    assert outcome.new is True
    assert outcome.status is Status.REGISTERED
    assert is_id(outcome.registration_id)
    saved = stored(majlis, outcome)
    assert saved.event_id == EVENT_ID
    assert saved.email == "person1@example.org"
    assert saved.email_key == "person1@example.org"
    assert (saved.first_name, saved.last_name) == ("Amina", "Rahman")
    assert (saved.country, saved.language, saved.timezone) == ("MY", "ms", "Asia/Kuala_Lumpur")
    assert saved.sessions == ALL_SESSIONS
    assert saved.updates is False
    assert saved.status is Status.REGISTERED
    assert saved.source == "form"
    assert saved.created_at == majlis.clock()
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)


def test_the_response_carries_only_the_id_and_status_never_a_link_or_token(
    majlis: Services,
) -> None:
    # Given a registration
    outcome = sign_up(majlis, person())
    # When it is shown to the client
    view = outcome.view()
    # Then it holds exactly the id and the status
    assert view == {"registration_id": outcome.registration_id, "status": "registered"}


@pytest.mark.parametrize("email", ["", "   "])
def test_email_is_required(majlis: Services, email: str) -> None:
    assert refused(majlis, person(email=email)) == [("email", "required")]


def test_a_missing_email_is_refused(majlis: Services) -> None:
    assert refused(majlis, without("email")) == [("email", "required")]


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "a@b",
        "a@@example.org",
        "a b@example.org",
        "Amina <amina@example.org>",
        "amina@[192.0.2.1]",
        "amina@example..org",
        "a\ud800@example.org",
    ],
)
def test_an_invalid_email_is_refused(majlis: Services, email: str) -> None:
    assert refused(majlis, person(email=email)) == [("email", "invalid_email")]


def test_an_email_of_254_characters_is_accepted_and_255_refused(majlis: Services) -> None:
    # Given addresses at and just over the 254-character limit
    longest = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".org"
    too_long = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".org"
    assert (len(longest), len(too_long)) == (254, 255)
    # When each is used, Then the first is stored and the second refused
    assert refused(majlis, person(email=too_long)) == [("email", "invalid_email")]
    assert stored(majlis, sign_up(majlis, person(email=longest))).email == longest


@pytest.mark.parametrize("email", ["josé@example.org", "محمد@example.org", "ü@bücher.example"])
def test_a_non_ascii_local_part_is_refused_with_its_own_code(majlis: Services, email: str) -> None:
    assert refused(majlis, person(email=email)) == [("email", "non_ascii_local_part")]


def test_an_international_domain_is_stored_as_given_and_keyed_in_punycode(
    majlis: Services,
) -> None:
    # Given an address whose domain is not ASCII
    # When it registers
    saved = stored(majlis, sign_up(majlis, person(email="user@bücher.example")))
    # Then the address is kept as typed, and its key uses the ASCII form of the domain
    assert saved.email == "user@bücher.example"
    assert saved.email_key == "user@xn--bcher-kva.example"


def test_an_email_is_trimmed(majlis: Services) -> None:
    saved = stored(majlis, sign_up(majlis, person(email="  Amina@Example.org \n")))
    assert saved.email == "Amina@Example.org"
    assert saved.email_key == "amina@example.org"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("A@X.org", "a@x.ORG"),
        ("user@BÜCHER.example", "USER@xn--bcher-kva.example"),
    ],
)
def test_emails_are_compared_case_insensitively(majlis: Services, first: str, second: str) -> None:
    # Given a registration with one spelling of an address
    earlier = sign_up(majlis, person(email=first))
    # When the same address registers again in another case (or domain form)
    again = sign_up(majlis, person(email=second, first_name="Someone"))
    # Then it is the same registration, not a new one
    assert again == Registered(earlier.registration_id, Status.REGISTERED, new=False)
    assert list(majlis.registrations.registrations) == [earlier.registration_id]
    assert stored(majlis, earlier).first_name == "Amina"
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)


def test_an_email_given_as_a_number_is_refused(majlis: Services) -> None:
    assert refused(majlis, person(email=12345)) == [("email", "invalid_type")]


# -- first_name and last_name -------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "\t \n"])
def test_first_name_is_required(majlis: Services, name: str) -> None:
    assert refused(majlis, person(first_name=name)) == [("first_name", "required")]


def test_a_missing_first_name_is_refused(majlis: Services) -> None:
    assert refused(majlis, without("first_name")) == [("first_name", "required")]


@pytest.mark.parametrize("name", [None, 7, ["Amina"]])
def test_a_first_name_that_is_not_text_is_refused(majlis: Services, name: object) -> None:
    assert refused(majlis, person(first_name=name)) == [("first_name", "invalid_type")]


def test_first_name_is_trimmed(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, person(first_name="  Amina  "))).first_name == "Amina"


def test_first_name_is_stored_nfc_normalised(majlis: Services) -> None:
    # Given a name typed with a decomposed é (e + combining acute accent)
    decomposed = "Rene\u0301e"
    # When it registers
    saved = stored(majlis, sign_up(majlis, person(first_name=decomposed)))
    # Then the composed form is stored
    assert saved.first_name == "Ren\u00e9e"
    assert len(saved.first_name) == 5


def test_first_name_may_have_100_characters_but_not_101(majlis: Services) -> None:
    assert refused(majlis, person(first_name="a" * 101)) == [("first_name", "too_long")]
    assert stored(majlis, sign_up(majlis, person(first_name="a" * 100))).first_name == "a" * 100


def test_the_100_character_limit_counts_after_normalisation(majlis: Services) -> None:
    # Given 100 é typed decomposed (200 code points, 100 characters once composed)
    # When it registers, Then it is accepted and stored composed
    saved = stored(majlis, sign_up(majlis, person(first_name="e\u0301" * 100)))
    assert saved.first_name == "\u00e9" * 100


def test_the_limit_counts_after_trimming(majlis: Services) -> None:
    name = "  " + "b" * 100 + "  "
    assert stored(majlis, sign_up(majlis, person(first_name=name))).first_name == "b" * 100


@pytest.mark.parametrize("char", ["\r", "\n", "\t", "\x00", "\x1b", "\x7f", "\u2028", "\u2029"])
def test_control_characters_in_first_name_are_refused(majlis: Services, char: str) -> None:
    fields = person(first_name=f"Ami{char}na")
    assert refused(majlis, fields) == [("first_name", "control_character")]


@pytest.mark.parametrize(
    "char",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"],
)
def test_bidi_override_and_isolate_characters_are_refused(majlis: Services, char: str) -> None:
    fields = person(first_name=f"Amina{char}gpj.exe")
    assert refused(majlis, fields) == [("first_name", "bidi_control")]


@pytest.mark.parametrize(
    "name",
    [
        "عبد\u200cالرحمن",  # Arabic with ZWNJ
        "فاطمہ\u200cبی بی",  # Urdu with ZWNJ
        "محمد\u200dعلی",  # ZWJ
        "Ali \u200fعلي",  # RLM: an implicit mark, it cannot reorder its neighbours
        "Nguyễn Thị",
    ],
)
def test_names_in_other_scripts_with_joiners_are_accepted(majlis: Services, name: str) -> None:
    assert stored(majlis, sign_up(majlis, person(first_name=name))).first_name == name


def test_last_name_is_optional(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, without("last_name"))).last_name is None


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_last_name_is_stored_as_none(majlis: Services, name: str) -> None:
    assert stored(majlis, sign_up(majlis, person(last_name=name))).last_name is None


def test_blank_optional_fields_of_a_form_mean_absent(majlis: Services) -> None:
    # Given form fields as strings, with the optional ones left blank
    fields = {**form_pairs_dict(), "last_name": "", "language": "", "timezone": ""}
    # When they are registered as a form
    saved = stored(majlis, register(majlis, EVENT_ID, fields, form=True))
    # Then blank means "not given": no last name, the event's language, the country's zone
    assert (saved.last_name, saved.language, saved.timezone) == (
        None,
        "ar",
        "Asia/Kuala_Lumpur",
    )


def test_a_blank_language_in_json_is_refused_not_defaulted(majlis: Services) -> None:
    assert refused(majlis, person(language="")) == [("language", "invalid_language")]
    assert refused(majlis, person(timezone="")) == [("timezone", "invalid_timezone")]


def test_form_booleans_are_read_by_the_body_parser_not_by_register(majlis: Services) -> None:
    # Given a form dict whose consent is still the string "on" (not parsed by read_body)
    fields = {**form_pairs_dict(), "consent": "on"}
    # Then it is a type error, not a consent
    assert refused(majlis, fields, form=True) == [("consent", "invalid_type")]


def test_a_blank_last_name_in_a_form_is_stored_as_none(majlis: Services) -> None:
    assert stored(majlis, submit_form(majlis, form_pairs(last_name=""))).last_name is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("a" * 101, "too_long"),
        ("Rah\nman", "control_character"),
        ("Rah\x00man", "control_character"),
        ("Rah\u202eman", "bidi_control"),
        ("Rah\u2067man", "bidi_control"),
        (5, "invalid_type"),
    ],
)
def test_last_name_follows_the_first_name_rules(majlis: Services, name: object, code: str) -> None:
    assert refused(majlis, person(last_name=name)) == [("last_name", code)]


def test_last_name_is_trimmed_and_normalised(majlis: Services) -> None:
    saved = stored(majlis, sign_up(majlis, person(last_name=" Garc\u0327on ")))
    assert saved.last_name == "Gar\u00e7on"
    assert saved.full_name == "Amina Gar\u00e7on"


# -- country ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"), [("my", "MY"), ("My", "MY"), ("PK", "PK"), ("xk", "XK")]
)
def test_country_is_accepted_in_any_case_and_stored_upper_case(
    majlis: Services, given: str, kept: str
) -> None:
    assert stored(majlis, sign_up(majlis, person(country=given))).country == kept


@pytest.mark.parametrize("country", ["ZZ", "USA", "", "U", "12", "EU", "UK", "uk"])
def test_a_country_that_is_not_an_iso_code_is_refused(majlis: Services, country: str) -> None:
    assert refused(majlis, person(country=country)) == [("country", "invalid_country")]


def test_a_missing_country_is_refused(majlis: Services) -> None:
    assert refused(majlis, without("country")) == [("country", "required")]


@pytest.mark.parametrize("country", ["ß", "ﬁ"])
def test_a_non_ascii_country_is_refused(majlis: Services, country: str) -> None:
    assert refused(majlis, person(country=country)) == [("country", "invalid_country")]


# -- language -----------------------------------------------------------------------


def test_language_defaults_to_the_events_default(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, without("language"))).language == "ar"


def test_a_blank_language_in_a_form_means_the_default(majlis: Services) -> None:
    assert stored(majlis, submit_form(majlis, form_pairs(language=""))).language == "ar"


@pytest.mark.parametrize("language", ["en", "ur", "tr"])
def test_a_language_the_event_offers_is_stored(majlis: Services, language: str) -> None:
    assert stored(majlis, sign_up(majlis, person(language=language))).language == language


@pytest.mark.parametrize("language", ["de", "", "arabic", "en-GB"])
def test_a_language_majlis_does_not_know_is_refused(majlis: Services, language: str) -> None:
    assert refused(majlis, person(language=language)) == [("language", "invalid_language")]


def test_a_language_the_event_does_not_offer_is_refused(majlis: Services) -> None:
    # Given an event in Arabic and English only
    configure(majlis, languages=["ar", "en"])
    # When someone asks for Turkish (a Majlis language), Then it is refused
    assert refused(majlis, person(language="tr")) == [("language", "invalid_language")]
    # And English is still fine
    assert stored(majlis, sign_up(majlis, person(language="en"))).language == "en"


# -- timezone -----------------------------------------------------------------------


def test_timezone_defaults_to_the_events_time_zone(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, without("timezone"))).timezone == "Asia/Jerusalem"


def test_a_blank_timezone_in_a_form_means_the_countrys(majlis: Services) -> None:
    # A page without JavaScript sends no zone: someone from Pakistan is in Karachi's
    saved = stored(majlis, submit_form(majlis, form_pairs(timezone="", country="pk")))
    assert saved.timezone == "Asia/Karachi"
    # And from a country of several zones, in its main zone (most of its people's)
    saved = stored(
        majlis, submit_form(majlis, form_pairs(email="b@example.org", timezone="", country="US"))
    )
    assert saved.timezone == "America/New_York"


def test_a_blank_timezone_in_a_form_from_ukraine_means_kyiv_not_zone_tab_s_first(
    majlis: Services,
) -> None:
    saved = stored(majlis, submit_form(majlis, form_pairs(timezone="", country="UA")))
    assert saved.timezone == "Europe/Kyiv"


def test_a_blank_timezone_in_a_form_from_a_country_without_one_means_the_events(
    majlis: Services,
) -> None:
    saved = stored(majlis, submit_form(majlis, form_pairs(timezone="", country="XK")))
    assert saved.timezone == "Asia/Jerusalem"


@pytest.mark.parametrize("zone", ["Europe/Istanbul", "America/Argentina/Buenos_Aires", "UTC"])
def test_an_iana_time_zone_is_stored(majlis: Services, zone: str) -> None:
    assert stored(majlis, sign_up(majlis, person(timezone=zone))).timezone == zone


@pytest.mark.parametrize(
    "zone",
    ["Mars/Base", "../etc/passwd", "/etc/passwd", "Asia/../Asia/Jerusalem", "", "GMT+25", "posix"],
)
def test_an_unknown_time_zone_is_refused(majlis: Services, zone: str) -> None:
    assert refused(majlis, person(timezone=zone)) == [("timezone", "invalid_timezone")]


def test_the_servers_localtime_is_not_a_time_zone_name(majlis: Services) -> None:
    assert refused(majlis, person(timezone="localtime")) == [("timezone", "invalid_timezone")]


# -- sessions -----------------------------------------------------------------------


def test_sessions_default_to_all_in_the_events_order(majlis: Services) -> None:
    # Given a body without "sessions" (as tests.builders.person makes it)
    fields = person()
    assert "sessions" not in fields
    # Then every session is chosen
    assert stored(majlis, sign_up(majlis, fields)).sessions == ALL_SESSIONS


def test_sessions_are_stored_in_the_events_order(majlis: Services) -> None:
    # Given sessions chosen out of order
    chosen = ["environment", "education", "media"]
    # When the person registers, Then they are stored in the programme's order
    saved = stored(majlis, sign_up(majlis, person(sessions=chosen)))
    assert saved.sessions == ["education", "media", "environment"]


def test_sessions_from_a_form_are_collected_from_repeated_fields(majlis: Services) -> None:
    pairs = [*form_pairs(), ("sessions", "youth"), ("sessions", "family")]
    assert stored(majlis, submit_form(majlis, pairs)).sessions == ["family", "youth"]


@pytest.mark.parametrize(
    ("sessions", "code"),
    [
        (["education", "no-such-session"], "unknown_session"),
        (["Education"], "unknown_session"),
        (["family", "family"], "duplicate"),
        ([], "required"),
    ],
)
def test_bad_session_choices_are_refused(majlis: Services, sessions: list[str], code: str) -> None:
    assert refused(majlis, person(sessions=sessions)) == [("sessions", code)]


def test_sessions_must_be_a_list_of_text(majlis: Services) -> None:
    assert refused(majlis, person(sessions="education")) == [("sessions", "invalid_type")]
    assert refused(majlis, person(sessions=["family", 3])) == [("sessions.1", "invalid_type")]


# -- consent and updates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "code"),
    [
        (False, "consent_required"),
        ("true", "invalid_type"),
        (1, "invalid_type"),
        (None, "invalid_type"),
    ],
)
def test_consent_must_be_exactly_true(majlis: Services, consent: object, code: str) -> None:
    assert refused(majlis, person(consent=consent)) == [("consent", code)]


def test_a_missing_consent_is_refused(majlis: Services) -> None:
    assert refused(majlis, without("consent")) == [("consent", "required")]


@pytest.mark.parametrize("ticked", ["on", "true", "1", "yes", "ON"])
def test_a_ticked_consent_box_in_a_form_is_accepted(majlis: Services, ticked: str) -> None:
    assert submit_form(majlis, form_pairs(consent=ticked)).new is True


def test_an_unticked_consent_box_in_a_form_is_refused(majlis: Services) -> None:
    pairs = [pair for pair in form_pairs() if pair[0] != "consent"]
    problem = problem_of(lambda: submit_form(majlis, pairs))
    assert (problem.status, field_codes(problem)) == (422, [("consent", "required")])
    problem = problem_of(lambda: submit_form(majlis, form_pairs(consent="off")))
    assert (problem.status, field_codes(problem)) == (422, [("consent", "consent_required")])


def test_updates_default_to_true(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, person())).updates is True


def test_updates_can_be_declined(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, person(updates=False))).updates is False
    form = submit_form(majlis, form_pairs(updates="no"))
    assert stored(majlis, form).updates is False


@pytest.mark.parametrize("updates", ["false", 0, None])
def test_updates_must_be_a_boolean(majlis: Services, updates: object) -> None:
    assert refused(majlis, person(updates=updates)) == [("updates", "invalid_type")]


# -- unknown fields and several errors at once --------------------------------------


def test_unknown_fields_are_refused_one_by_one(majlis: Services) -> None:
    fields = person(nickname="Mina", status="registered")
    assert sorted(refused(majlis, fields)) == [
        ("nickname", "unknown_field"),
        ("status", "unknown_field"),
    ]


def test_every_invalid_field_is_reported_together(majlis: Services) -> None:
    fields = without("consent", email="nope", country="ZZ", first_name="a\tb")
    assert sorted(refused(majlis, fields)) == [
        ("consent", "required"),
        ("country", "invalid_country"),
        ("email", "invalid_email"),
        ("first_name", "control_character"),
    ]


def test_a_refused_registration_writes_nothing(majlis: Services) -> None:
    refused(majlis, person(country="ZZ"))
    assert majlis.registrations.writes == 0
    assert majlis.registrations.email_keys == {}
    assert majlis.events.seats[EVENT_ID] == Seats()


# -- the honeypot -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        person(website="https://spam.example"),
        # a bot gets a success whatever else it sent, so it learns nothing
        {"website": "x", "email": "not an address", "consent": False},
    ],
)
def test_a_filled_honeypot_answers_like_a_success_and_stores_nothing(
    majlis: Services, fields: dict[str, Any]
) -> None:
    # When a bot fills the hidden "website" field
    outcome = sign_up(majlis, fields)
    # Then the answer looks like a new registration
    assert outcome.new is True
    assert outcome.status is Status.REGISTERED
    assert is_id(outcome.registration_id)
    assert outcome.view() == {"registration_id": outcome.registration_id, "status": "registered"}
    # And nothing is stored, counted or queued
    assert majlis.registrations.registrations == {}
    assert majlis.registrations.email_keys == {}
    assert majlis.registrations.writes == 0
    assert majlis.events.seats[EVENT_ID] == Seats()
    assert majlis.mail_queue.jobs == []
    assert majlis.mailer.sent == []


def test_a_filled_honeypot_in_a_form_stores_nothing(majlis: Services) -> None:
    outcome = submit_form(majlis, form_pairs(website="http://spam.example"))
    assert outcome.new is True
    assert majlis.registrations.registrations == {}


def test_an_empty_honeypot_is_a_normal_registration(majlis: Services) -> None:
    assert stored(majlis, sign_up(majlis, person(website=""))).email == "person1@example.org"
    form = submit_form(majlis, form_pairs(website=""))
    assert stored(majlis, form).email == "form@example.org"


# -- the registration window and the event -----------------------------------------

OPENS = "2027-02-01T00:00:00Z"
CLOSES = "2027-03-06T12:00:00Z"


def test_registration_before_it_opens_is_refused_with_409(majlis: Services, clock: Clock) -> None:
    # Given an event whose registration opens tomorrow
    configure(majlis, registration={"opens_at": "2027-03-02T09:00:00Z", "closes_at": CLOSES})
    # When someone registers today, Then 409 and nothing is stored
    problem = problem_of(lambda: sign_up(majlis, person()))
    assert problem.status == 409
    assert majlis.registrations.registrations == {}
    # And one second before the opening it is still closed, at the opening it is open
    clock.advance(days=1, seconds=-1)
    assert problem_of(lambda: sign_up(majlis, person())).status == 409
    clock.advance(seconds=1)
    assert sign_up(majlis, person()).new is True


def test_registration_at_and_after_closing_is_refused_with_409(
    majlis: Services, clock: Clock
) -> None:
    # Given the reference event, which closes when its first session starts
    closes = majlis.events.get(EVENT_ID).registration.closes_at
    # When someone registers one second before closing, Then it works
    clock.now = closes - timedelta(seconds=1)
    assert sign_up(majlis, person(1)).new is True
    # When someone registers at the closing time or later, Then 409
    clock.now = closes
    assert problem_of(lambda: sign_up(majlis, person(2))).status == 409
    clock.advance(days=3)
    assert problem_of(lambda: sign_up(majlis, person(3))).status == 409
    assert len(majlis.registrations.registrations) == 1


def test_an_event_without_a_window_is_always_open(majlis: Services, clock: Clock) -> None:
    configure(majlis, registration={})
    clock.advance(days=365)
    assert sign_up(majlis, person()).new is True


@pytest.mark.parametrize("event_id", ["other", "no-such-event", "CONF", "../conf", ""])
def test_an_unknown_event_is_404(majlis: Services, event_id: str) -> None:
    problem = problem_of(lambda: sign_up(majlis, person(), event_id=event_id))
    assert problem.status == 404
    assert majlis.registrations.registrations == {}
