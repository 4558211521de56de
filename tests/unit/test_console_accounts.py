"""Organisers of the console on the fakes: invitations and roles, one-time sign-in
links, sessions, and the outbox job that emails a link."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import Gone, Invalid, NotFound, TooManyRequests
from chalicelib.domain.organizers import Organizer, organizer_key, roles_of
from chalicelib.jobs import SignInMail
from chalicelib.ports import Change, Services
from chalicelib.usecases import console
from chalicelib.usecases.organizermail import send_sign_in_mail
from chalicelib.usecases.outbox import export_jobs, jobs_for
from tests.unit.support import EVENT_ID


def invited(majlis: Services, email: str = "huda@example.org", role: str = "send") -> str:
    _, link = console.invite(majlis, EVENT_ID, email, role, "test")
    return console.sign_in_token(majlis, link)


def test_each_role_includes_those_below_it() -> None:
    assert roles_of("read") == {"read"}
    assert roles_of("send") == {"read", "send"}
    assert roles_of("admin") == {"read", "send", "admin"}
    assert roles_of("owner") == frozenset()
    somebody = Organizer("k" * 32, "a@example.org", grants={"conf": "send", "*": "read"})
    assert somebody.may("send", "conf") and not somebody.may("admin", "conf")
    assert somebody.may("read", "other") and not somebody.may("send", "other")


def test_an_invitation_keeps_the_address_s_hash_as_its_key_and_emails_a_link(majlis) -> None:
    # When an admin invites an address
    organizer, link = console.invite(majlis, EVENT_ID, " Huda@Example.org ", "send", "test")
    # Then the organiser is known by a hash of the address's key, with the role
    assert organizer.key == organizer_key("huda@example.org")
    assert organizer.role_for(EVENT_ID) == "send"
    # And the link's record is kept for the outbox, from the event's sender
    assert majlis.organizers.sign_in(link.signin_id) == link
    assert link.event_id == EVENT_ID and link.invited_by == "test"


def test_inviting_to_an_unknown_event_or_with_an_unknown_role_is_refused(majlis) -> None:
    with pytest.raises(NotFound):
        console.invite(majlis, "nope", "a@example.org", "read", "test")
    with pytest.raises(Invalid):
        console.invite(majlis, EVENT_ID, "a@example.org", "owner", "test")
    with pytest.raises(Invalid):
        console.invite(majlis, EVENT_ID, "not an address", "read", "test")


def test_asking_for_a_link_keeps_a_record_only_for_organisers(majlis) -> None:
    invited(majlis)
    before = set(majlis.organizers.sign_ins)
    console.ask_sign_in(majlis, "nobody@example.org", "en", "192.0.2.1")
    assert set(majlis.organizers.sign_ins) == before
    console.ask_sign_in(majlis, "huda@example.org", "ar", "192.0.2.1")
    new = set(majlis.organizers.sign_ins) - before
    assert len(new) == 1 and majlis.organizers.sign_ins[new.pop()].language == "ar"


def test_asking_too_often_for_one_address_is_a_429_for_any_address(majlis) -> None:
    for email in ("huda@example.org", "nobody@example.org"):
        if email == "huda@example.org":
            invited(majlis)
        for _ in range(console.SIGN_INS_PER_ORGANIZER.requests):
            console.ask_sign_in(majlis, email, "en", "192.0.2.1")
        with pytest.raises(TooManyRequests):
            console.ask_sign_in(majlis, email, "en", "192.0.2.1")


def test_a_link_signs_in_once(majlis) -> None:
    token = invited(majlis)
    assert console.check_sign_in(majlis, token)  # a GET uses nothing up
    cookie, signed = console.sign_in(majlis, token)
    assert console.signed_in(majlis, cookie) == signed
    with pytest.raises(Gone):
        console.sign_in(majlis, token)
    with pytest.raises(Gone):
        console.check_sign_in(majlis, token)


def test_a_link_expires_after_15_minutes(majlis) -> None:
    token = invited(majlis)
    majlis.clock.advance(minutes=15)
    with pytest.raises(Gone):
        console.sign_in(majlis, token)


def test_a_tampered_link_is_not_ours(majlis) -> None:
    token = invited(majlis)
    with pytest.raises(NotFound):
        console.sign_in(majlis, token[:-2] + ("aa" if not token.endswith("aa") else "bb"))


def test_a_session_holds_no_secret_the_store_keeps_and_ends_at_sign_out(majlis) -> None:
    cookie, signed = console.sign_in(majlis, invited(majlis))
    session_id = cookie.split(".", 1)[0]
    assert session_id not in majlis.organizers.sessions
    assert console.secret_hash(session_id) in majlis.organizers.sessions
    console.sign_out(majlis, signed)
    assert console.signed_in(majlis, cookie) is None


def test_a_session_ends_after_12_hours_and_with_a_forged_key(majlis) -> None:
    cookie, _ = console.sign_in(majlis, invited(majlis))
    other = invited(majlis, "other@example.org")
    forged = cookie.split(".", 1)[0] + "." + organizer_key("other@example.org")
    assert other and console.signed_in(majlis, forged) is None
    majlis.clock.advance(hours=12)
    assert console.signed_in(majlis, cookie) is None


def test_the_roles_come_from_the_organiser_at_each_request(majlis) -> None:
    cookie, signed = console.sign_in(majlis, invited(majlis, role="admin"))
    assert signed.organizer.may("admin", EVENT_ID)
    console.revoke(majlis, EVENT_ID, signed.organizer.key, "test")
    again = console.signed_in(majlis, cookie)
    assert again is not None and not again.organizer.may("read", EVENT_ID)


def test_the_csrf_token_is_the_session_s(majlis) -> None:
    _, signed = console.sign_in(majlis, invited(majlis))
    assert signed.csrf_ok(signed.session.csrf)
    assert not signed.csrf_ok("")
    assert not signed.csrf_ok(None)
    assert not signed.csrf_ok(signed.session.csrf + "x")


def test_every_action_is_audited_without_addresses(majlis) -> None:
    _, signed = console.sign_in(majlis, invited(majlis))
    console.audit(majlis, EVENT_ID, signed, "resend", "01j0000000000000000000000a")
    trail = majlis.organizers.audit_trail(EVENT_ID, 10)
    assert [entry.action for entry in trail] == ["resend", "sign_in", "invite:send"]
    assert all("@" not in entry.by + entry.target for entry in trail)


def test_the_outbox_queues_a_new_link_s_email_once(majlis) -> None:
    _, link = console.invite(majlis, EVENT_ID, "huda@example.org", "send", "test")
    inserted = Change("1", "INSERT", {}, {"kind": "sign_in", "signin_id": link.signin_id}, "r1")
    modified = Change("2", "MODIFY", inserted.new, {**inserted.new, "mailed_at": "x"}, "r2")
    assert jobs_for(inserted) == [SignInMail(signin_id=link.signin_id, correlation_id="r1")]
    assert jobs_for(modified) == []


def test_the_link_s_email_is_sent_once_in_the_organiser_s_language(majlis) -> None:
    _, link = console.invite(majlis, EVENT_ID, "huda@example.org", "send", "test", "ur")
    assert send_sign_in_mail(majlis, SignInMail(signin_id=link.signin_id)) == "sent"
    assert send_sign_in_mail(majlis, SignInMail(signin_id=link.signin_id)) == "duplicate"
    (sent,) = majlis.mailer.sent
    assert sent["recipient"] == "huda@example.org"
    assert b'lang="ur"' in sent["raw"] or b"Content-Language: ur" in sent["raw"]


def test_a_used_or_expired_link_is_not_emailed(majlis) -> None:
    _, link = console.invite(majlis, EVENT_ID, "huda@example.org", "send", "test")
    majlis.clock.advance(minutes=16)
    assert send_sign_in_mail(majlis, SignInMail(signin_id=link.signin_id)) == "expired"


def test_an_operator_moves_dead_letters_back_through_the_outbox(majlis) -> None:
    from chalicelib.domain.errors import NotPermitted
    from chalicelib.jobs import Redrive as RedriveJob
    from chalicelib.usecases import operations

    majlis.dead_letters.held = {"majlis-zoom-dlq": 3, "majlis-mail-dlq": 0}
    _, admin = console.sign_in(majlis, invited(majlis, role="admin"))
    with pytest.raises(NotPermitted):  # an admin of one event: not the installation's
        operations.ask_redrive(majlis, admin, "majlis-zoom-dlq")
    _, link = console.invite(majlis, "*", "ops@example.org", "admin", "test")
    _, operator = console.sign_in(majlis, console.sign_in_token(majlis, link))
    with pytest.raises(Invalid):
        operations.ask_redrive(majlis, operator, "majlis-nothing-dlq")
    asked = operations.ask_redrive(majlis, operator, "majlis-zoom-dlq")
    change = Change("1", "INSERT", {}, {"kind": "redrive", "redrive_id": asked.redrive_id}, "r")
    (job,) = export_jobs(change)
    assert job == RedriveJob(redrive_id=asked.redrive_id)
    assert operations.redrive(majlis, job) == "moved 3"
    assert majlis.dead_letters.moved == {"majlis-zoom": 3}
    assert majlis.organizers.redrives(5)[0].moved == 3
    assert operations.redrive(majlis, job) == "done already"  # delivered again: once
