"""Organizer tokens (chalicelib/auth.py): minted once, stored as hashes, scoped to events
and roles."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest

from chalicelib.auth import Principal, authenticate, mint, require, token_hash
from tests.fakes import Clock, FakeTokenStore
from tests.unit.support import problem_of


@pytest.fixture
def store() -> FakeTokenStore:
    return FakeTokenStore()


def test_a_minted_token_is_stored_only_as_its_sha256_hash(
    store: FakeTokenStore, clock: Clock
) -> None:
    # When a token is minted
    token = mint(store, ["conf"], ["read", "admin"], "Amina's laptop", clock())
    # Then it looks like a Majlis token
    assert re.fullmatch(r"mjt_[A-Za-z0-9_-]{43}", token)
    # And the store holds its SHA-256 hash, never the token itself
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert list(store.records) == [digest]
    assert token_hash(token) == digest
    assert token not in json.dumps(store.records)
    assert token[4:] not in json.dumps(store.records)
    assert store.records[digest] == {
        "events": ["conf"],
        "roles": ["admin", "read"],
        "label": "Amina's laptop",
        "created_at": "2027-03-01T09:00:00Z",
    }


def test_two_tokens_differ(store: FakeTokenStore, clock: Clock) -> None:
    first = mint(store, ["conf"], ["read"], "a", clock())
    second = mint(store, ["conf"], ["read"], "b", clock())
    assert first != second
    assert len(store.records) == 2


@pytest.mark.parametrize(
    ("events", "roles"),
    [([], ["read"]), (["Conf"], ["read"]), (["conf"], []), (["conf"], ["owner"])],
)
def test_minting_checks_events_and_roles(
    store: FakeTokenStore, clock: Clock, events: list[str], roles: list[str]
) -> None:
    with pytest.raises(ValueError, match="must be"):
        mint(store, events, roles, "x", clock())
    assert store.records == {}


def test_a_bearer_token_authenticates(store: FakeTokenStore, clock: Clock) -> None:
    # Given a token for the event conf with the read role
    token = mint(store, ["conf"], ["read"], "x", clock())
    # When it is presented as a bearer token
    principal = authenticate(store, f"Bearer {token}", clock())
    # Then it resolves to its principal
    assert principal == Principal(
        token_id=token_hash(token)[:12], events=frozenset({"conf"}), roles=frozenset({"read"})
    )
    assert authenticate(store, f"bearer  {token} ", clock()) == principal


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic {token}",
        "Token {token}",
        "{token}",
        "Bearer mjt_unknown",
        "Bearer {token}x",
        "Bearer {hash}",
    ],
)
def test_anything_else_does_not_authenticate(
    store: FakeTokenStore, clock: Clock, header: str | None
) -> None:
    token = mint(store, ["conf"], ["read"], "x", clock())
    if header is not None:
        header = header.format(token=token, hash=token_hash(token))
    assert authenticate(store, header, clock()) is None


def test_an_expired_token_does_not_authenticate(store: FakeTokenStore, clock: Clock) -> None:
    # Given a token valid for one hour
    token = mint(store, ["conf"], ["read"], "x", clock(), valid_for=timedelta(hours=1))
    assert store.records[token_hash(token)]["expires_at"] == "2027-03-01T10:00:00Z"
    # When it is used within the hour, Then it works
    clock.advance(minutes=59, seconds=59)
    assert authenticate(store, f"Bearer {token}", clock()) is not None
    # When the hour is over, Then it does not
    clock.advance(seconds=1)
    assert authenticate(store, f"Bearer {token}", clock()) is None
    clock.advance(days=1)
    assert authenticate(store, f"Bearer {token}", clock()) is None


def test_a_token_without_expiry_lasts(store: FakeTokenStore, clock: Clock) -> None:
    token = mint(store, ["conf"], ["read"], "x", clock())
    clock.advance(days=400)
    assert authenticate(store, f"Bearer {token}", clock()) is not None


def test_require_without_a_principal_is_401() -> None:
    assert problem_of(lambda: require(None, "read", "conf")).status == 401


def test_require_for_another_event_is_403() -> None:
    principal = Principal("abc", frozenset({"conf"}), frozenset({"read", "send", "admin"}))
    assert problem_of(lambda: require(principal, "read", "other")).status == 403
    assert require(principal, "read", "conf") is principal


def test_require_without_the_role_is_403() -> None:
    principal = Principal("abc", frozenset({"conf"}), frozenset({"read"}))
    assert problem_of(lambda: require(principal, "admin", "conf")).status == 403
    assert problem_of(lambda: require(principal, "send", "conf")).status == 403


def test_a_star_token_may_act_on_any_event(store: FakeTokenStore, clock: Clock) -> None:
    token = mint(store, ["*"], ["send"], "x", clock())
    principal = authenticate(store, f"Bearer {token}", clock())
    assert require(principal, "send", "conf") is principal
    assert require(principal, "send", "any-other-event") is principal
    assert problem_of(lambda: require(principal, "admin", "conf")).status == 403


def test_a_principal_travels_through_the_authorizer_context() -> None:
    # Given a principal
    principal = Principal("0123456789ab", frozenset({"conf", "other"}), frozenset({"read", "send"}))
    # When it becomes the authorizer context (strings only) and back
    context = principal.context()
    assert context == {"token_id": "0123456789ab", "events": "conf,other", "roles": "read,send"}
    assert all(isinstance(value, str) for value in context.values())
    # Then it is the same principal
    assert Principal.from_context(context) == principal


def test_an_empty_context_is_no_principal() -> None:
    assert Principal.from_context({}) is None
    assert Principal.from_context({"events": "*", "roles": "admin"}) is None


def test_a_context_without_roles_allows_nothing() -> None:
    principal = Principal.from_context({"token_id": "x", "events": "*", "roles": ""})
    assert principal is not None
    assert principal.roles == frozenset()
    assert problem_of(lambda: require(principal, "read", "conf")).status == 403


def test_listed_tokens_say_when_they_expire_and_revoke_refuses_what_it_cannot_name(
    store: FakeTokenStore, clock: Clock
) -> None:
    from chalicelib.auth import listed, revoke

    old = mint(store, ["conf"], ["read"], "old", clock(), valid_for=timedelta(days=1))
    clock.advance(days=2)
    new = mint(store, ["*"], ["admin"], "new", clock(), valid_for=timedelta(days=30))
    first, second = listed(store)
    assert (first.label, first.expired(clock()), second.label, second.expired(clock())) == (
        "old",
        True,
        "new",
        False,
    )
    assert second.token_id == token_hash(new)[:12] and second.events == ("*",)
    for wrong in ("", "abc", "zzzzzzzzzzzz", token_hash(old)[:11]):
        with pytest.raises(ValueError, match="12 hex digits"):
            revoke(store, wrong)
    # Two tokens whose hashes begin alike: the id names neither
    digest = token_hash(old)
    store.put(digest[:12] + "0" * 52, {"label": "twin", "created_at": "2026-01-01T00:00:00Z"})
    with pytest.raises(ValueError, match="more than one token"):
        revoke(store, digest[:12])
    assert revoke(store, token_hash(new)[:12].upper()).label == "new"
    assert [t.label for t in listed(store)] == ["twin", "old"]
