"""Double opt-in (on fakes): a registration is pending until its person confirms it from
their email; only then does it take a seat. Answers never tell who is registered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from chalicelib.domain.campaigns import Audience
from chalicelib.domain.errors import TooManyRequests
from chalicelib.domain.registrations import Seats, Status
from chalicelib.mail.render import registration_mail
from chalicelib.signed_links import registration_links
from chalicelib.usecases import optin
from chalicelib.usecases.access import LinkRefused, Refusal
from chalicelib.usecases.registrations import register
from tests.builders import person
from tests.fakes import TEST_KEYS
from tests.unit.support import EVENT_ID, configure

BASE = "https://r.example.org"


def _links(majlis, registration_id: str):
    registration = majlis.registrations.get(registration_id)
    return registration_links(TEST_KEYS, BASE, majlis.events.get(EVENT_ID), registration)


def _token(majlis, registration_id: str) -> str:
    return _links(majlis, registration_id).confirm.rsplit("/", 1)[1]


def _pending(majlis, n: int = 1, **form) -> str:
    register(majlis, EVENT_ID, person(n, **form), form=False)
    [found] = [
        r
        for r in majlis.registrations.registrations.values()
        if r.email == person(n, **form)["email"]
    ]
    return found.registration_id


def test_a_registration_is_pending_holds_no_seat_and_expires(majlis, clock):
    configure(majlis, double_opt_in=True, opt_in_hours=48)
    outcome = register(majlis, EVENT_ID, person(1), form=False)
    assert outcome.status is Status.PENDING
    assert outcome.view() == {"status": "pending"}
    [stored] = majlis.registrations.registrations.values()
    assert stored.status is Status.PENDING
    assert stored.expires_at == clock() + timedelta(hours=48)
    assert majlis.events.seats[EVENT_ID] == Seats()


def test_new_pending_registered_and_blocked_addresses_are_answered_alike(majlis, clock):
    configure(majlis, double_opt_in=True, blocked=["spam.example"])
    confirmed = _pending(majlis, 1)
    optin.confirm(majlis, _token(majlis, confirmed))
    _pending(majlis, 2)
    answers = [
        register(majlis, EVENT_ID, person(n, **form), form=False)
        for n, form in [(3, {}), (2, {}), (1, {}), (4, {"email": "x@spam.example"})]
    ]  # new, pending, registered, blocked
    assert {(a.status, a.new, tuple(a.view().items())) for a in answers} == {
        (Status.PENDING, True, (("status", "pending"),))
    }
    assert len(majlis.registrations.registrations) == 3  # the new one; nothing for the block


def test_registering_again_sends_the_right_email_at_most_every_ten_minutes(majlis, clock):
    configure(majlis, double_opt_in=True)
    pending = _pending(majlis, 1)
    seq = majlis.registrations.get(pending).mail_seq
    clock.advance(minutes=11)
    register(majlis, EVENT_ID, person(1), form=False)
    assert majlis.registrations.get(pending).mail_seq == seq + 1  # the confirm email again
    register(majlis, EVENT_ID, person(1), form=False)
    assert majlis.registrations.get(pending).mail_seq == seq + 1  # not within 10 minutes
    assert majlis.registrations.get(pending).status is Status.PENDING


def test_confirming_takes_a_seat_and_owes_the_confirmation(majlis, clock):
    configure(majlis, double_opt_in=True)
    pending = _pending(majlis, 1)
    token = _token(majlis, pending)
    assert optin.pending_behind(majlis, token).status is Status.PENDING  # a GET: nothing
    assert majlis.registrations.get(pending).status is Status.PENDING
    confirmed = optin.confirm(majlis, token)
    assert (confirmed.status, confirmed.new) == (Status.REGISTERED, True)
    stored = majlis.registrations.get(pending)
    assert (stored.status, stored.mail_reason, stored.expires_at) == (
        Status.REGISTERED,
        "confirmed",
        None,
    )
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)
    again = optin.confirm(majlis, token)  # a second click, another tab
    assert (again.status, again.new) == (Status.REGISTERED, False)
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)


def test_only_confirmed_people_count_against_capacity(majlis):
    configure(majlis, double_opt_in=True, capacity=3)
    pending = [_pending(majlis, n) for n in range(10)]
    assert majlis.events.seats[EVENT_ID] == Seats()
    statuses = [optin.confirm(majlis, _token(majlis, r)).status for r in pending[:5]]
    assert statuses == [Status.REGISTERED] * 3 + [Status.WAITLISTED] * 2
    assert majlis.events.seats[EVENT_ID] == Seats(registered=3, waitlisted=2)


def test_an_unconfirmed_registration_is_forgotten_when_it_expires(majlis, clock):
    configure(majlis, double_opt_in=True, opt_in_hours=1)
    pending = _pending(majlis, 1)
    token = _token(majlis, pending)
    kept = _pending(majlis, 2)
    optin.confirm(majlis, _token(majlis, kept))
    clock.advance(minutes=59)
    assert optin.expire(majlis) == 0
    clock.advance(minutes=2)
    with pytest.raises(LinkRefused) as refused:
        optin.confirm(majlis, token)
    assert refused.value.reason is Refusal.EXPIRED
    assert optin.expire(majlis) == 1
    assert set(majlis.registrations.registrations) == {kept}
    # The address may register again, anew.
    assert register(majlis, EVENT_ID, person(1), form=False).status is Status.PENDING
    assert len(majlis.registrations.registrations) == 2


def test_a_confirm_link_of_another_purpose_or_forged_is_refused(majlis):
    configure(majlis, double_opt_in=True)
    pending = _pending(majlis, 1)
    manage = _links(majlis, pending).manage.rsplit("/", 1)[1]
    for token in (manage, _token(majlis, pending)[:-2] + "xx"):
        with pytest.raises(LinkRefused) as refused:
            optin.confirm(majlis, token)
        assert refused.value.reason is Refusal.INVALID


def test_announcements_never_go_to_pending_registrations():
    with pytest.raises(ValidationError):
        Audience(status=[Status.REGISTERED, Status.PENDING])


@pytest.mark.parametrize("language", ["ar", "ur", "en"])
def test_the_only_email_while_pending_is_the_confirm_link(majlis, clock, language):
    configure(majlis, double_opt_in=True)
    pending = _pending(majlis, 1, language=language)
    registration = majlis.registrations.get(pending)
    links = _links(majlis, pending)
    rendered = registration_mail(majlis.events.get(EVENT_ID), registration, links, clock())
    assert links.confirm.startswith(f"{BASE}/confirm/")
    assert links.confirm in rendered.text
    assert f'href="{links.confirm}"' in rendered.html
    assert rendered.calendar is None
    for url in [*links.join.values(), links.manage]:
        assert url not in rendered.text and url not in rendered.html
    assert ('dir="rtl"' in rendered.html) is (language in ("ar", "ur"))
    assert "24" in rendered.text  # the hours the link works for


def test_a_429_tells_nothing_either(majlis, clock):
    """Known and blocked addresses are counted like new ones: over the address's limit,
    every address gets the same 429."""
    majlis.settings = majlis.settings.model_copy(update={"registrations_per_minute": 3})
    configure(majlis, double_opt_in=True, blocked=["spam.example"])
    clock.now = clock.now.replace(second=5)
    address = "192.0.2.7"

    def attempt(n: int, email: str | None = None) -> str:
        form = {"email": email} if email else {}
        try:
            return register(majlis, EVENT_ID, person(n, **form), False, address).status.value
        except TooManyRequests:
            return "429"

    assert attempt(1) == "pending"  # known from now on
    assert [attempt(1), attempt(4, "x@spam.example"), attempt(5)] == ["pending", "pending", "429"]
    assert [attempt(1), attempt(4, "x@spam.example"), attempt(6)] == ["429"] * 3
    clock.advance(minutes=1)
    assert [attempt(6), attempt(1), attempt(4, "x@spam.example")] == ["pending"] * 3


def test_an_expired_registration_the_sweep_has_not_reached_registers_anew(majlis, clock):
    configure(majlis, double_opt_in=True, opt_in_hours=1)
    stale = _pending(majlis, 1)
    clock.advance(hours=1, minutes=1)
    assert register(majlis, EVENT_ID, person(1), form=False).status is Status.PENDING
    [fresh] = majlis.registrations.registrations.values()
    assert fresh.registration_id != stale
    assert fresh.expires_at == clock() + timedelta(hours=1)  # a link that works


def test_an_audience_of_every_status_leaves_out_the_pending():
    where = Audience(status=[]).where()
    assert Status.PENDING not in where.status
    assert {Status.REGISTERED, Status.WAITLISTED, Status.CANCELLED} <= where.status


def test_a_confirmation_after_the_last_session_takes_no_seat(majlis, clock):
    event = configure(majlis, double_opt_in=True, opt_in_hours=168)
    pending = _pending(majlis, 1)
    clock.now = max(s.ends_at for s in event.sessions) + timedelta(minutes=1)
    assert clock.now < majlis.registrations.get(pending).expires_at  # the link still works
    with pytest.raises(LinkRefused) as refused:
        optin.confirm(majlis, _token(majlis, pending))
    assert refused.value.reason is Refusal.EXPIRED
    assert majlis.registrations.get(pending).status is Status.PENDING
    assert majlis.events.seats[EVENT_ID] == Seats()
