"""A registration's proof of work, on the fakes: counted once whatever path the
registration takes (new, known, blocked, registered anew), and last, so that a request
refused by a rate limit leaves its solution good for the retry."""

from __future__ import annotations

import altcha
import pytest

from chalicelib.domain.errors import Invalid, NotFound, TooManyRequests
from chalicelib.domain.registrations import Status
from chalicelib.usecases import limits
from chalicelib.usecases.registrations import challenge, register
from tests.builders import person
from tests.unit.support import EVENT_ID, configure


@pytest.fixture
def cheap(majlis):
    """Challenges quick for the tests' solver (the work does not change the check)."""
    majlis.settings = majlis.settings.model_copy(
        update={"challenge_cost": 5, "challenge_counter": 20}
    )
    return majlis


def _solution(majlis) -> str:
    parsed = altcha.Challenge.from_dict(challenge(majlis, EVENT_ID))
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()


def _code(call) -> str:
    with pytest.raises(Invalid) as refused:
        call()
    return {e.field: e.code for e in refused.value.errors}["altcha"]


def test_the_challenge_is_made_with_the_settings_work(cheap):
    configure(cheap, challenge=True)
    made = challenge(cheap, EVENT_ID)
    assert made["parameters"]["cost"] == 5
    solution = altcha.solve_challenge(altcha.Challenge.from_dict(made))
    assert 10 <= solution.counter <= 30


def test_a_pending_registration_registered_anew_uses_its_solution_once(cheap, clock):
    configure(cheap, challenge=True, double_opt_in=True, opt_in_hours=1)
    register(cheap, EVENT_ID, person(1, altcha=_solution(cheap)), form=False)
    clock.advance(hours=1, minutes=1)  # expired, not swept yet
    solution = _solution(cheap)
    outcome = register(cheap, EVENT_ID, person(1, altcha=solution), form=False)
    assert outcome.status is Status.PENDING
    assert len(cheap.registrations.registrations) == 1  # the stale one forgotten
    again = person(2, altcha=solution)
    assert _code(lambda: register(cheap, EVENT_ID, again, form=False)) == "challenge_used"


def test_a_cancelled_address_registered_anew_uses_its_solution_once(cheap, clock):
    configure(cheap, challenge=True)
    first = register(cheap, EVENT_ID, person(1, altcha=_solution(cheap)), form=False)
    cheap.registrations.cancel(cheap.registrations.get(first.registration_id), clock())
    solution = _solution(cheap)
    outcome = register(cheap, EVENT_ID, person(1, altcha=solution), form=False)
    assert outcome.new and outcome.status is Status.REGISTERED
    assert outcome.registration_id != first.registration_id
    again = person(2, altcha=solution)
    assert _code(lambda: register(cheap, EVENT_ID, again, form=False)) == "challenge_used"


def test_a_request_over_a_rate_limit_keeps_its_solution_good(cheap, clock):
    configure(cheap, challenge=True, registrations_per_minute=1)
    register(cheap, EVENT_ID, person(1, altcha=_solution(cheap)), form=False)
    solution = _solution(cheap)
    with pytest.raises(TooManyRequests):
        register(cheap, EVENT_ID, person(2, altcha=solution), form=False)
    clock.advance(minutes=1)
    assert register(cheap, EVENT_ID, person(2, altcha=solution), form=False).new


def test_every_use_of_a_solution_counts_in_one_window_kept_past_its_expiry(cheap, clock):
    configure(cheap, challenge=True)
    solution = _solution(cheap)
    register(cheap, EVENT_ID, person(1, altcha=solution), form=False)
    clock.advance(minutes=19)  # still alive, in another minute's window
    again = person(2, altcha=solution)
    assert _code(lambda: register(cheap, EVENT_ID, again, form=False)) == "challenge_used"
    [(start, window)] = [
        (key[1], limits.CHALLENGE_WINDOW) for key in cheap.limiter.hits if key[0] == "challenge"
    ]
    expires = altcha.Payload.from_base64(solution).challenge.parameters.expires_at
    assert start <= expires < start + window  # the marker's TTL: start + 2 windows


def test_the_honeypot_needs_no_solution(cheap):
    configure(cheap, challenge=True)
    outcome = register(cheap, EVENT_ID, person(1, website="http://spam"), form=False)
    assert outcome.status is Status.REGISTERED and not cheap.registrations.registrations


def test_an_event_without_a_challenge_has_none(cheap):
    configure(cheap)
    with pytest.raises(NotFound):
        challenge(cheap, EVENT_ID)
