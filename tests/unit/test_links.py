"""Signed links: each way a token can be wrong gets its own answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.signed_links import (
    ExpiredLink,
    InvalidLink,
    Keys,
    Link,
    Purpose,
    registration_links,
    sign,
    verify,
)
from tests.fakes import TEST_KEYS

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
RID = "01m8k4e4s39a821wjg4my0bqy9"


def _join(**changes) -> Link:
    fields = {
        "purpose": Purpose.JOIN,
        "registration_id": RID,
        "session_id": "education",
        "version": 1,
        "expires_at": NOW + timedelta(days=6),
    }
    fields.update(changes)
    return Link(**fields)


def test_a_signed_link_verifies_to_what_was_signed():
    token = sign(TEST_KEYS, _join())
    link = verify(TEST_KEYS, Purpose.JOIN, token, NOW)
    assert (link.registration_id, link.session_id, link.version) == (RID, "education", 1)
    # Expiry is kept to the minute
    assert abs(link.expires_at - (NOW + timedelta(days=6))) < timedelta(minutes=1)


def test_tokens_are_short_and_hold_no_personal_data():
    token = sign(TEST_KEYS, _join(session_id="a" * 32, version=999_999))
    assert len(token) < 130
    assert "@" not in token
    assert token.isascii()
    assert all(c.isalnum() or c in "~.-_" for c in token)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated signature
        lambda t: t[: len(t) // 2],  # truncated anywhere
        lambda t: t.replace("education", "economy"),  # another session
        lambda t: t.replace("~1~", "~2~"),  # another link version
        # one character inside the signature (the last one also carries unused bits)
        lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],
        lambda t: t.replace(RID, RID[:-1] + ("0" if RID[-1] != "0" else "1")),
        lambda t: "k9" + t[2:],  # a key id we do not have
        lambda t: t + "x",
        lambda t: "",
        lambda t: "%2e%2e%2fetc",
        lambda t: "k2~" + "é" * 40,
        lambda t: t * 3,
    ],
    ids=[
        "truncated-signature",
        "truncated",
        "session",
        "version",
        "signature-byte",
        "registration",
        "unknown-key",
        "appended",
        "empty",
        "encoded-path",
        "non-ascii",
        "long",
    ],
)
def test_a_tampered_token_is_invalid(mangle):
    token = sign(TEST_KEYS, _join())
    with pytest.raises(InvalidLink):
        verify(TEST_KEYS, Purpose.JOIN, mangle(token), NOW)


def test_purpose_is_bound_into_the_signature():
    manage = sign(TEST_KEYS, _join(purpose=Purpose.MANAGE, session_id=""))
    assert verify(TEST_KEYS, Purpose.MANAGE, manage, NOW).purpose is Purpose.MANAGE
    for other in (Purpose.JOIN, Purpose.UNSUBSCRIBE):
        with pytest.raises(InvalidLink):
            verify(TEST_KEYS, other, manage, NOW)
    join = sign(TEST_KEYS, _join())
    with pytest.raises(InvalidLink):
        verify(TEST_KEYS, Purpose.MANAGE, join, NOW)


def test_an_expired_link_is_expired_not_invalid():
    token = sign(TEST_KEYS, _join(expires_at=NOW + timedelta(minutes=5)))
    assert verify(TEST_KEYS, Purpose.JOIN, token, NOW + timedelta(minutes=4))
    with pytest.raises(ExpiredLink):
        verify(TEST_KEYS, Purpose.JOIN, token, NOW + timedelta(minutes=6))


def test_rotation_old_keys_verify_the_newest_signs():
    # Given links signed while k1 was the active key
    before = Keys(active="k1", secrets={"k1": TEST_KEYS.secrets["k1"]})
    old_token = sign(before, _join())
    assert old_token.startswith("k1~")
    # When k2 is added and made active
    after = TEST_KEYS
    new_token = sign(after, _join())
    # Then new links are signed with k2 and the old ones still verify
    assert new_token.startswith("k2~")
    assert verify(after, Purpose.JOIN, old_token, NOW).registration_id == RID
    assert verify(after, Purpose.JOIN, new_token, NOW).registration_id == RID
    # And once k1 is retired, its links stop working
    retired = Keys(active="k2", secrets={"k2": TEST_KEYS.secrets["k2"]})
    with pytest.raises(InvalidLink):
        verify(retired, Purpose.JOIN, old_token, NOW)


def test_a_key_cannot_be_forged_by_renaming_it():
    # A token signed with k1 but relabelled k2 fails: the key id selects the key.
    token = sign(Keys(active="k1", secrets={"k1": TEST_KEYS.secrets["k1"]}), _join())
    with pytest.raises(InvalidLink):
        verify(TEST_KEYS, Purpose.JOIN, "k2" + token[2:], NOW)


def test_keys_need_an_active_key():
    with pytest.raises(ValueError, match="active"):
        Keys.from_secret({"active": "k3", "k1": "x" * 64})
    assert Keys.from_secret({"active": "k1", "k1": "x" * 64}).active == "k1"


def test_registration_links_expire_after_their_sessions(majlis):
    from chalicelib.usecases.registrations import register
    from tests.builders import person

    outcome = register(majlis, "conf", person(1), form=False)
    registration = majlis.registrations.get(outcome.registration_id)
    event = majlis.events.get("conf")
    links = registration_links(TEST_KEYS, "https://r.example.org/", event, registration)
    assert set(links.join) == set(registration.sessions)
    for session_id, url in links.join.items():
        assert url.startswith("https://r.example.org/join/k2~")
        token = url.rsplit("/", 1)[1]
        link = verify(TEST_KEYS, Purpose.JOIN, token, NOW)
        assert link.session_id == session_id
        session_end = event.session(session_id).ends_at
        assert session_end < link.expires_at <= session_end + timedelta(hours=12, minutes=1)
        with pytest.raises(ExpiredLink):
            verify(TEST_KEYS, Purpose.JOIN, token, session_end + timedelta(hours=13))
    manage = verify(TEST_KEYS, Purpose.MANAGE, links.manage.rsplit("/", 1)[1], NOW)
    assert manage.session_id == ""
    assert verify(TEST_KEYS, Purpose.UNSUBSCRIBE, links.unsubscribe.rsplit("/", 1)[1], NOW)
