"""Who may not register: an event's blocked addresses and domains, disposable-address
domains when the event refuses them, and the event's ceiling of new registrations a
minute (on top of each address's limit)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.domain.errors import field_errors
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Seats, Status
from chalicelib.domain.screening import blocked_entry, is_blocked, is_disposable
from chalicelib.domain.text import TextError
from chalicelib.ports import Services
from chalicelib.usecases.registrations import register
from tests.builders import event_body, person
from tests.unit.support import EVENT_ID, configure, field_codes, problem_of

# -- the entries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        (" Spam.Example ", "spam.example"),
        ("@spam.example", "spam.example"),  # as people write a domain to block
        ("spam.example.", "spam.example"),
        ("Bot@Spam.Example", "bot@spam.example"),
        ("bot@مثال.إختبار", "bot@xn--mgbh0fb.xn--kgbechtv"),  # as addresses are compared
        ("مثال.إختبار", "xn--mgbh0fb.xn--kgbechtv"),
    ],
)
def test_an_entry_is_kept_as_addresses_are_compared(entry: str, kept: str) -> None:
    assert blocked_entry(entry) == kept


@pytest.mark.parametrize("entry", ["", "example", "a b.example", "-a.example", "a@", "@", "a@@b.c"])
def test_an_entry_that_is_neither_an_address_nor_a_domain_is_refused(entry: str) -> None:
    with pytest.raises(TextError):
        blocked_entry(entry)


def test_a_domain_blocks_its_subdomains_and_nothing_that_only_ends_like_it() -> None:
    blocked = {"spam.example", "a@b.example"}
    assert is_blocked(blocked, "x@spam.example")
    assert is_blocked(blocked, "x@mx.spam.example")
    assert is_blocked(blocked, "a@b.example")
    assert not is_blocked(blocked, "x@notspam.example")
    assert not is_blocked(blocked, "other@b.example")
    assert not is_blocked(blocked, "x@example")
    assert not is_blocked(set(), "x@spam.example")


def test_disposable_domains_come_from_the_pinned_list() -> None:
    assert is_disposable("x@mailinator.com")
    assert is_disposable("x@sub.mailinator.com")
    assert not is_disposable("x@gmail.com")
    assert not is_disposable("x@example.org")


def test_an_event_keeps_its_entries_normalised_once_each() -> None:
    event = Event.model_validate(
        {**event_body(blocked=["Spam.Example", "@spam.example", "A@B.example"]), "id": "conf"}
    )
    assert event.blocked == ["spam.example", "a@b.example"]
    assert event.registrations_per_minute == 3000
    assert event.refuse_disposable is False


def test_a_bad_entry_is_named_by_its_place() -> None:
    with pytest.raises(ValidationError) as caught:
        Event.model_validate({**event_body(blocked=["spam.example", "nope"]), "id": "conf"})
    assert [(e.field, e.code) for e in field_errors(caught.value)] == [
        ("blocked.1", "invalid_blocked")
    ]


def test_the_blocked_list_fits_in_the_event_item() -> None:
    entries = [f"{'x' * 50}{n}.example" for n in range(2000)]
    with pytest.raises(ValidationError) as caught:
        Event.model_validate({**event_body(blocked=entries), "id": "conf"})
    assert [(e.field, e.code) for e in field_errors(caught.value)] == [("blocked", "too_long")]


def test_the_blocked_list_stays_private() -> None:
    event = Event.model_validate({**event_body(blocked=["spam.example"]), "id": "conf"})
    assert "blocked" not in event.public_view(event.registration.opens_at or _now())
    assert event.organizer_view()["blocked"] == ["spam.example"]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2027, 2, 1, tzinfo=UTC)


# -- registrations -------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["bot@spam.example", "BOT@MX.SPAM.EXAMPLE", "a@b.example"], ids=str.lower
)
def test_a_blocked_registration_answers_like_a_new_one_and_stores_nothing(
    majlis: Services, email: str
) -> None:
    configure(majlis, blocked=["spam.example", "a@b.example"])
    real = register(majlis, EVENT_ID, person(1), form=False)
    writes = majlis.registrations.writes
    blocked = register(majlis, EVENT_ID, person(2, email=email), form=False)
    assert (blocked.new, blocked.status, blocked.timezone) == (
        True,
        Status.REGISTERED,
        real.timezone,
    )
    assert blocked.view().keys() == real.view().keys()
    assert blocked.registration_id != real.registration_id
    assert list(majlis.registrations.registrations) == [real.registration_id]
    assert majlis.registrations.writes == writes  # nothing stored (only counted)
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)


def test_a_blocked_address_on_a_full_event_is_answered_as_waitlisted(majlis: Services) -> None:
    configure(majlis, capacity=1, blocked=["spam.example"])
    register(majlis, EVENT_ID, person(1), form=False)
    assert register(majlis, EVENT_ID, person(2), form=False).status is Status.WAITLISTED
    blocked = register(majlis, EVENT_ID, person(3, email="x@spam.example"), form=False)
    assert blocked.status is Status.WAITLISTED  # as anyone would be now


def test_invalid_input_from_a_blocked_address_is_refused_as_anyone_s(majlis: Services) -> None:
    configure(majlis, blocked=["spam.example"])
    problem = problem_of(
        lambda: register(
            majlis, EVENT_ID, person(1, email="x@spam.example", consent=False), form=False
        )
    )
    assert field_codes(problem) == [("consent", "consent_required")]


def test_an_event_that_refuses_disposable_addresses_says_so_on_the_email(
    majlis: Services,
) -> None:
    configure(majlis, refuse_disposable=True)
    problem = problem_of(
        lambda: register(majlis, EVENT_ID, person(1, email="x@mailinator.com"), form=False)
    )
    assert problem.status == 422
    assert field_codes(problem) == [("email", "disposable_address")]
    assert majlis.registrations.registrations == {}
    assert register(majlis, EVENT_ID, person(2), form=False).new


def test_disposable_addresses_register_where_the_event_does_not_refuse_them(
    majlis: Services,
) -> None:
    configure(majlis)
    assert register(majlis, EVENT_ID, person(1, email="x@mailinator.com"), form=False).new


# -- the event's ceiling ---------------------------------------------------------------


def test_the_event_s_ceiling_counts_every_address_and_answers_429(majlis: Services) -> None:
    configure(majlis, registrations_per_minute=3)
    majlis.clock.now = majlis.clock.now.replace(second=20)
    for n in range(3):
        register(majlis, EVENT_ID, person(n), form=False, address=f"192.0.2.{n}")
    problem = problem_of(
        lambda: register(majlis, EVENT_ID, person(9), form=False, address="198.51.100.9")
    )
    assert problem.status == 429
    assert problem.headers["Retry-After"] == "40"
    assert "registering right now" in problem.detail
    assert majlis.events.seats[EVENT_ID] == Seats(registered=3)
    # The next minute admits again.
    majlis.clock.now = majlis.clock.now.replace(second=0, minute=majlis.clock.now.minute + 1)
    assert register(majlis, EVENT_ID, person(9), form=False, address="198.51.100.9").new


def test_one_event_s_ceiling_leaves_other_events_alone(majlis: Services) -> None:
    configure(majlis, registrations_per_minute=1)
    configure(majlis, "other")
    register(majlis, EVENT_ID, person(1), form=False, address="192.0.2.1")
    assert register(majlis, "other", person(2), form=False, address="192.0.2.2").new
