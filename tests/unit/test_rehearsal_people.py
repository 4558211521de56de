"""The rehearsal's crowd (infra/rehearsal/people.py): who it is, and that every answer it
expects is the one Majlis gives, checked against the real validation and use case."""

from __future__ import annotations

import functools
import ipaddress
import json
import unicodedata
import zoneinfo
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.errors import field_errors
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import RegistrationForm, Status
from chalicelib.domain.zones import country_zones, is_time_zone
from chalicelib.entrypoints.bodies import FORM, read_body
from chalicelib.entrypoints.http import ANSWERED, problem_for
from chalicelib.ports import Services
from chalicelib.usecases.registrations import FORM_BOOLS, FORM_LISTS, register
from infra.local.demo import EVENT_ID, demo_event
from infra.rehearsal import people as rehearsal
from infra.rehearsal.people import Attempt, crowd, registrants
from tests.fakes import Clock, fake_majlis

NOW = datetime.now(UTC).replace(microsecond=0)  # demo_event opens registration a day ago
DOCUMENTATION = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


def demo(**overrides: Any) -> Event:
    return Event.model_validate({**demo_event(), "id": EVENT_ID, **overrides})


def parallel_sessions() -> list[dict[str, Any]]:
    """The demo's programme with "family" at the same time as "education"."""
    sessions = demo_event()["sessions"]
    sessions[1] |= {"starts_at": sessions[0]["starts_at"], "ends_at": sessions[0]["ends_at"]}
    return sessions


@functools.cache
def burst(people: int, seed: int = 0) -> tuple[Attempt, ...]:
    return tuple(crowd(people, demo_event()["sessions"], seed=seed))


def validated(attempt: Attempt, event: Event) -> RegistrationForm:
    """The attempt's body as the API parses and validates it (raises on refusal)."""
    fields, kind = read_body(attempt.data, attempt.content_type, lists=FORM_LISTS, bools=FORM_BOOLS)
    assert kind != FORM
    return RegistrationForm.model_validate(fields, context={"event": event})


def refused_fields(attempt: Attempt, event: Event) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        validated(attempt, event)
    return [error.field for error in field_errors(caught.value)]


def answer(majlis: Services, attempt: Attempt) -> tuple[int, list[str]]:
    """The status and error fields of the route's answer (as app.py's register maps the
    use case's outcome), on the in-memory fakes."""
    try:
        fields, kind = read_body(
            attempt.data, attempt.content_type, lists=FORM_LISTS, bools=FORM_BOOLS
        )
        outcome = register(majlis, EVENT_ID, fields, form=kind == FORM, address=attempt.source_ip)
    except ANSWERED as refusal:
        problem = problem_for(refusal)
        return problem.status, [error.field for error in problem.errors]
    if outcome.status is Status.PENDING:
        return 202, []
    return (201 if outcome.new else 200), []


# -- who the crowd is --------------------------------------------------------------------


def test_the_same_seed_draws_the_same_crowd_and_another_seed_another() -> None:
    sessions = demo_event()["sessions"]
    assert crowd(200, sessions, seed=7) == crowd(200, sessions, seed=7)
    assert crowd(200, sessions, seed=7) != crowd(200, sessions, seed=8)


@pytest.mark.parametrize("people", [1, 100, 500])
def test_exactly_the_people_asked_for_register_once_each(people: int) -> None:
    persons = registrants(burst(people))
    assert len(persons) == people
    assert len({p.email for p in persons}) == people
    assert all(p.email == p.email.strip().lower() for p in persons)


def test_the_mix_is_of_duplicates_bots_and_every_kind_of_bad_input() -> None:
    kinds = [a.kind for a in burst(500)]
    assert kinds.count("duplicate") == 25
    assert kinds.count("bot") == 15
    assert len([k for k in kinds if k.startswith("bad:")]) == 20
    assert {k for k in kinds if k.startswith("bad:")} == {f"bad:{k}" for k in rehearsal.BAD_KINDS}


@pytest.mark.parametrize("people", [100, 500])
def test_seventy_countries_from_a_hundred_people_on(people: int) -> None:
    assert len(rehearsal.countries(registrants(burst(people)))) == 70


def test_a_small_crowd_comes_from_as_many_countries_as_it_has_people() -> None:
    assert len(rehearsal.countries(registrants(burst(40)))) == 40


@pytest.mark.parametrize("people", [100, 500])
def test_every_language_is_spoken_and_arabic_most(people: int) -> None:
    spoken = rehearsal.languages(registrants(burst(people)))
    assert set(spoken) == {"ar", "en", "tr", "fr", "es", "ur", "ms"}
    assert spoken.most_common(1)[0][0] == "ar"


def test_every_time_zone_exists_and_fits_the_country() -> None:
    persons = registrants(burst(500))
    for person in persons:
        zoneinfo.ZoneInfo(person.timezone)
        assert is_time_zone(person.timezone)
        # Palestinians in Jerusalem keep Jerusalem's zone, which zone.tab gives to IL.
        fits = person.timezone in country_zones(person.country)
        assert fits or (person.country, person.timezone) == ("PS", "Asia/Jerusalem")
    zones = {p.timezone for p in persons}
    assert {"Asia/Jerusalem", "Europe/Istanbul"} <= zones


def test_names_are_written_in_the_script_of_their_language() -> None:
    for person in registrants(burst(500)):
        for name in filter(None, (person.first_name, person.last_name)):
            assert unicodedata.is_normalized("NFC", name)
            letters = [unicodedata.name(c) for c in name if c.isalpha()]
            arabic = all(n.startswith("ARABIC") for n in letters)
            latin = all(n.startswith("LATIN") for n in letters)
            assert arabic if person.language in ("ar", "ur") else latin, name
    turkish = "".join(p.first_name + (p.last_name or "") for p in registrants(burst(500)))
    assert {"ğ", "ş", "ı"} <= set(turkish)


def test_addresses_are_plausible_and_some_domains_international() -> None:
    persons = registrants(burst(500))
    for person in persons:
        local, _, domain = person.email.partition("@")
        assert local.isascii()
        assert domain.endswith((".example", "example.org", "example.com", "example.net"))
    assert any(not p.email.isascii() for p in persons)
    assert len({parse_address(p.email).key for p in persons}) == len(persons)


def test_everyone_posts_from_a_documentation_address_and_bots_from_a_few() -> None:
    attempts = burst(500)
    for attempt in attempts:
        ip = ipaddress.ip_address(attempt.source_ip)
        assert any(ip in network for network in DOCUMENTATION)
    bots = {a.source_ip for a in attempts if a.kind == "bot"}
    people = {a.source_ip for a in attempts if a.kind != "bot"}
    assert len(bots) <= len(rehearsal.BOT_ADDRESSES)
    assert not bots & people


def test_about_85_percent_keep_the_announcements() -> None:
    persons = registrants(burst(500))
    assert 0.8 <= sum(p.updates for p in persons) / len(persons) <= 0.9


def test_duplicates_come_after_the_person_they_repeat() -> None:
    attempts = burst(500)
    first_post = {a.person: i for i, a in enumerate(attempts) if a.kind == "person"}
    duplicates = [(i, a) for i, a in enumerate(attempts) if a.kind == "duplicate"]
    assert duplicates
    for index, duplicate in duplicates:
        assert duplicate.person in first_post
        assert first_post[duplicate.person] < index
        again = parse_address(duplicate.body["email"]).key
        assert again == parse_address(duplicate.person.email).key
    assert any(d.body["email"] != d.person.email for _, d in duplicates)


def test_bots_fill_the_honeypot() -> None:
    bots = [a for a in burst(500) if a.kind == "bot"]
    assert bots
    assert all(a.body["website"] and a.person is None for a in bots)


# -- what the real validation says of it ---------------------------------------------------


@pytest.mark.parametrize("double_opt_in", [False, True])
def test_people_and_duplicates_pass_validation_as_the_person_they_are(double_opt_in: bool) -> None:
    event = demo(double_opt_in=double_opt_in)
    for attempt in burst(500):
        if attempt.kind not in ("person", "duplicate"):
            continue
        form = validated(attempt, event)
        person = attempt.person
        assert form.address.key == parse_address(person.email).key
        assert (form.first_name, form.last_name) == (person.first_name, person.last_name)
        assert (form.country, form.language, form.timezone) == (
            person.country,
            person.language,
            person.timezone,
        )
        assert tuple(form.sessions or event.open_session_ids) == person.sessions
        assert form.updates is person.updates


def test_each_bad_attempt_is_refused_on_the_field_it_names() -> None:
    event = demo()
    for attempt in burst(500):
        if not attempt.kind.startswith("bad:"):
            continue
        if attempt.expected_field is None:
            assert attempt.expected_status(False) == 400
            with pytest.raises(ANSWERED) as caught:
                validated(attempt, event)
            assert problem_for(caught.value).status == 400
            continue
        assert attempt.expected_status(False) == attempt.expected_status(True) == 422
        assert refused_fields(attempt, event) == [attempt.expected_field], attempt.kind


def test_on_parallel_sessions_people_choose_one_per_slot_and_the_wrong_choices_fail() -> None:
    sessions = parallel_sessions()
    event = demo(sessions=sessions)
    attempts = crowd(100, sessions, seed=3)
    kinds = {a.kind for a in attempts}
    assert {"bad:overlapping_sessions", "bad:sessions_not_chosen"} <= kinds
    for attempt in attempts:
        if attempt.kind == "person":
            assert "sessions" in attempt.body
            assert tuple(validated(attempt, event).sessions) == attempt.person.sessions
            assert not {"education", "family"} <= set(attempt.person.sessions)
        elif attempt.expected_field is not None:
            assert refused_fields(attempt, event) == [attempt.expected_field], attempt.kind


@pytest.mark.parametrize("double_opt_in", [False, True])
def test_every_answer_is_the_one_the_api_gives(double_opt_in: bool) -> None:
    # Given Majlis on fakes with the demo event, normal or double opt-in
    majlis = fake_majlis(Clock(NOW))
    event = demo(double_opt_in=double_opt_in)
    majlis.events.put(event, NOW)
    attempts = burst(300, seed=5)
    # When the whole burst is posted, in order
    answers = [answer(majlis, attempt) for attempt in attempts]
    # Then each gets the status (and the error field) it expects
    for attempt, (status, fields) in zip(attempts, answers, strict=True):
        assert status == attempt.expected_status(double_opt_in), attempt
        if status == 422:
            assert fields == [attempt.expected_field], attempt
    # And exactly the people are stored, as they are
    stored = {r.email_key: r for r in majlis.registrations.registrations.values()}
    persons = registrants(attempts)
    assert set(stored) == {parse_address(p.email).key for p in persons}
    for person in persons:
        kept = stored[parse_address(person.email).key]
        assert (kept.first_name, kept.last_name, kept.country) == (
            person.first_name,
            person.last_name,
            person.country,
        )
        assert (kept.language, kept.timezone, kept.updates) == (
            person.language,
            person.timezone,
            person.updates,
        )
        assert tuple(kept.sessions) == person.sessions
        expected = Status.PENDING if double_opt_in else Status.REGISTERED
        assert kept.status is expected
    assert rehearsal.holders(persons) == {
        s: sum(s in r.sessions for r in stored.values()) for s in event.session_ids
    }


def test_the_body_is_sent_as_utf8_json() -> None:
    person = next(a for a in burst(100) if a.kind == "person")
    assert json.loads(person.data.decode("utf-8")) == person.body
