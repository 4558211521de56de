"""ALTCHA challenges (chalicelib/challenges.py): made for one event, checked without a
key derivation, refused with a clear code when missing, not ours, wrong or expired."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import altcha
import pytest

from chalicelib import challenges
from chalicelib.domain.errors import Invalid
from chalicelib.signed_links import Keys

KEYS = Keys("k1", {"k1": "first-secret"})
NOW = datetime.now(UTC)  # altcha also checks the expiry by the machine's clock
CHEAP = challenges.Work(cost=10, counter=40)


def solve(challenge: dict) -> str:
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


def code_of(keys: Keys, event_id: str, payload: object, now: datetime = NOW) -> str:
    with pytest.raises(Invalid) as refused:
        challenges.check(keys, event_id, payload, now)
    [error] = refused.value.errors
    assert error.field == "altcha"
    return error.code


def test_a_solved_challenge_holds_for_its_event_until_it_expires():
    challenge = challenges.new_challenge(KEYS, "demo", CHEAP, NOW)
    params = challenge["parameters"]
    assert params["algorithm"] == "PBKDF2/SHA-256" and params["cost"] == 10
    assert params["data"] == {"event": "demo", "key": "k1"}
    assert params["expiresAt"] == int((NOW + challenges.LIFETIME).timestamp())
    # Deterministic: the key to reach is fixed, and signed for a check without derivation
    assert len(params["keyPrefix"]) == 32 and params["keySignature"]
    solved = challenges.check(KEYS, "demo", solve(challenge), NOW)
    assert solved.signature == challenge["signature"]
    assert solved.expires_at == datetime.fromtimestamp(params["expiresAt"], UTC)


def test_the_work_is_drawn_around_the_counter_asked_for():
    counters = []
    for _ in range(12):
        challenge = challenges.new_challenge(KEYS, "demo", CHEAP, NOW)
        solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
        counters.append(solution.counter)
    assert all(CHEAP.counter // 2 <= c <= CHEAP.counter * 3 // 2 for c in counters)
    assert len(set(counters)) > 1


def test_a_missing_solution_is_required():
    assert code_of(KEYS, "demo", None) == "challenge_required"
    assert code_of(KEYS, "demo", "") == "challenge_required"


@pytest.mark.parametrize(
    "payload",
    [
        "not base64 at all!",
        base64.b64encode(b"{}").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(json.dumps({"challenge": {}, "solution": {}}).encode()).decode(),
        12345,
        ["a"],
        "A" * (challenges.MAX_PAYLOAD + 1),
    ],
)
def test_what_is_not_a_solution_of_ours_is_refused(payload: object):
    assert code_of(KEYS, "demo", payload) == "challenge_invalid"


def _tampered(payload: str, change) -> str:
    data = json.loads(base64.b64decode(payload))
    change(data)
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_a_wrong_or_tampered_solution_is_refused():
    challenge = challenges.new_challenge(KEYS, "demo", CHEAP, NOW)
    payload = solve(challenge)

    def wrong_key(data: dict) -> None:
        data["solution"]["derivedKey"] = "00" * 32

    def cheaper(data: dict) -> None:
        data["challenge"]["parameters"]["cost"] = 1

    def later(data: dict) -> None:
        data["challenge"]["parameters"]["expiresAt"] += 3600

    def unsigned(data: dict) -> None:
        del data["challenge"]["signature"]

    for change in (wrong_key, cheaper, later, unsigned):
        assert code_of(KEYS, "demo", _tampered(payload, change)) == "challenge_invalid"


def test_a_challenge_of_another_event_or_an_unknown_key_is_refused():
    payload = solve(challenges.new_challenge(KEYS, "demo", CHEAP, NOW))
    assert code_of(KEYS, "other-event", payload) == "challenge_invalid"
    assert code_of(Keys("k2", {"k2": "second-secret"}), "demo", payload) == "challenge_invalid"
    # Signed by another secret under the same key id: not ours either
    assert code_of(Keys("k1", {"k1": "another-secret"}), "demo", payload) == "challenge_invalid"


def test_keys_rotate_as_links_do():
    payload = solve(challenges.new_challenge(KEYS, "demo", CHEAP, NOW))
    rotated = Keys("k2", {"k1": "first-secret", "k2": "second-secret"})
    assert challenges.check(rotated, "demo", payload, NOW)
    made = challenges.new_challenge(rotated, "demo", CHEAP, NOW)
    assert made["parameters"]["data"]["key"] == "k2"  # the newest key signs


def test_an_expired_challenge_says_so():
    payload = solve(challenges.new_challenge(KEYS, "demo", CHEAP, NOW))
    later = NOW + challenges.LIFETIME + timedelta(seconds=1)
    assert code_of(KEYS, "demo", payload, later) == "challenge_expired"
    # By the machine's clock too (altcha's own check), whatever ours says
    old = solve(challenges.new_challenge(KEYS, "demo", CHEAP, NOW - timedelta(hours=1)))
    assert code_of(KEYS, "demo", old, NOW - timedelta(hours=1)) == "challenge_expired"
