"""Proof of work on registrations through local mode: an event with ``"challenge": true``
takes only registrations that carry a solved, unused, unexpired challenge of its own
(422 ``altcha`` otherwise), and a solution refused for another reason stays good."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import altcha
import pytest
import requests

from chalicelib import challenges
from chalicelib.bootstrap import services
from tests.builders import person, put_open_event

EVENT = "challenge-e2e"
ORIGIN = "https://conference.example.org"


def _put_event(local, event_id: str = EVENT, **overrides: Any) -> None:
    settings = {"challenge": True, "allowed_origins": [ORIGIN], **overrides}
    put_open_event(local.url, local.organizer_token, event_id, **settings)


def solved(challenge: dict[str, Any]) -> str:
    """A bot's (or a test's) solution, by altcha's own solver."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


def _solution(local, event_id: str = EVENT) -> str:
    response = requests.get(f"{local.url}/events/{event_id}/challenge", timeout=30)
    assert response.status_code == 200, response.text
    return solved(response.json())


def _register(local, body: dict[str, Any], event_id: str = EVENT) -> requests.Response:
    return requests.post(f"{local.url}/events/{event_id}/registrations", json=body, timeout=30)


def _altcha_code(response: requests.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    codes = [e["code"] for e in response.json()["errors"] if e["field"] == "altcha"]
    assert len(codes) == 1, response.json()
    return codes[0]


@pytest.fixture(scope="module")
def event(local) -> str:
    _put_event(local)
    return EVENT


def test_the_event_says_it_asks_for_a_challenge_and_gives_one(local, event):
    assert requests.get(f"{local.url}/events/{event}", timeout=30).json()["challenge"] is True
    response = requests.get(
        f"{local.url}/events/{event}/challenge", headers={"Origin": ORIGIN}, timeout=30
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the embedded form
    challenge = response.json()
    assert challenge["parameters"]["algorithm"] == "PBKDF2/SHA-256"
    assert challenge["parameters"]["data"]["event"] == event
    assert challenge["signature"]
    # Each request is a new challenge
    again = requests.get(f"{local.url}/events/{event}/challenge", timeout=30).json()
    assert again["signature"] != challenge["signature"]
    preflight = requests.options(
        f"{local.url}/events/{event}/challenge",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        timeout=30,
    )
    assert preflight.status_code == 204


def test_an_event_without_a_challenge_has_none_to_give(local):
    _put_event(local, "challenge-off", challenge=False)
    public = requests.get(f"{local.url}/events/challenge-off", timeout=30).json()
    assert public["challenge"] is False
    response = requests.get(f"{local.url}/events/challenge-off/challenge", timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    # … and its registrations need no solution (one sent along is not looked at)
    assert _register(local, person(1, email="off@example.org"), "challenge-off").status_code == 201


def test_a_registration_without_a_solution_is_refused_naming_the_field(local, event):
    assert _altcha_code(_register(local, person(1, email="none@example.org"))) == (
        "challenge_required"
    )
    # With the form's other errors, all at once
    response = _register(local, person(1, email="not an address", consent=False))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"email", "consent", "altcha"} <= fields


def test_a_wrong_solution_is_refused(local, event):
    challenge = requests.get(f"{local.url}/events/{event}/challenge", timeout=30).json()
    parsed = altcha.Challenge.from_dict(challenge)
    wrong = altcha.Payload(parsed, altcha.Solution(counter=1, derived_key="00" * 32))
    body = person(1, email="wrong@example.org", altcha=wrong.to_base64())
    assert _altcha_code(_register(local, body)) == "challenge_invalid"
    # Another event's solution does not open this one
    _put_event(local, "challenge-other")
    body = person(1, email="wrong@example.org", altcha=_solution(local, "challenge-other"))
    assert _altcha_code(_register(local, body)) == "challenge_invalid"


def test_a_solution_is_good_once(local, event):
    solution = _solution(local)
    first = _register(local, person(1, email="once@example.org", altcha=solution))
    assert first.status_code == 201, first.text
    again = _register(local, person(2, email="twice@example.org", altcha=solution))
    assert _altcha_code(again) == "challenge_used"
    # The second person was not stored: a solution of their own registers them
    fresh = _register(local, person(2, email="twice@example.org", altcha=_solution(local)))
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["registration_id"] != first.json()["registration_id"]


def test_a_known_address_uses_its_solution_up_too(local, event):
    _register(local, person(1, email="known@example.org", altcha=_solution(local)))
    body = person(1, email="known@example.org", altcha=_solution(local))
    assert _register(local, body).status_code == 200  # its email again
    assert _altcha_code(_register(local, body)) == "challenge_used"


def test_a_solution_refused_for_another_field_stays_good(local, event):
    solution = _solution(local)
    refused = _register(local, person(1, email="later@example.org", consent=False, altcha=solution))
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"consent"}
    accepted = _register(local, person(1, email="later@example.org", altcha=solution))
    assert accepted.status_code == 201, accepted.text


def test_an_expired_challenge_is_refused(local, event):
    wired = services()  # local mode's own signing keys
    work = challenges.Work(cost=10, counter=10)
    old = challenges.new_challenge(
        wired.keys.keys(), event, work, wired.clock() - challenges.LIFETIME - timedelta(minutes=1)
    )
    body = person(1, email="expired@example.org", altcha=solved(old))
    assert _altcha_code(_register(local, body)) == "challenge_expired"
    # The same work, fresh, is taken: the keys were the right ones
    fresh = challenges.new_challenge(wired.keys.keys(), event, work, wired.clock())
    body = person(1, email="expired@example.org", altcha=solved(fresh))
    assert _register(local, body).status_code == 201


def test_a_double_opt_in_event_answers_a_used_solution_alike_for_everyone(local):
    """Known and blocked addresses use their solution as a new one does, so that a
    second use cannot tell them apart either."""
    _put_event(local, "challenge-doi", double_opt_in=True, blocked=["blocked.example"])
    for address in ("new@example.org", "new@example.org", "someone@blocked.example"):
        solution = _solution(local, "challenge-doi")
        first = _register(local, person(1, email=address, altcha=solution), "challenge-doi")
        assert (first.status_code, first.json()) == (202, {"status": "pending"})
        again = _register(local, person(1, email=address, altcha=solution), "challenge-doi")
        assert _altcha_code(again) == "challenge_used"
