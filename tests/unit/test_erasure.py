"""Erasure: the personal data goes everywhere Majlis keeps it; counts and order stay."""

from __future__ import annotations

import pytest

from chalicelib.domain.registrations import Registration, Status
from chalicelib.jobs import RegistrationMail
from chalicelib.ports import Services
from chalicelib.signed_links import registration_links
from chalicelib.usecases import access, registrations, zoomsync
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_registration_mail
from tests.builders import NOW, person
from tests.fakes import TEST_KEYS
from tests.unit.support import EVENT_ID, configure, problem_of

EDUCATION = "81234567890"  # the Zoom webinar of "education" in the reference event


def _registered(majlis: Services, n: int, **form) -> Registration:
    outcome = register(majlis, EVENT_ID, person(n, **form), form=False)
    found = majlis.registrations.get(outcome.registration_id)
    assert found is not None
    return found


def test_erasing_removes_the_personal_data_and_keeps_the_rest(majlis: Services):
    someone = _registered(majlis, 1, first_name="Ayesha", last_name="Khan", country="PK")
    registrations.erase(majlis, EVENT_ID, someone.registration_id, by="tok123")
    erased = majlis.registrations.get(someone.registration_id)
    assert erased is not None
    assert (erased.email, erased.email_key, erased.first_name, erased.last_name) == (
        "",
        "",
        "",
        "",
    )
    assert erased.status is Status.CANCELLED and erased.erased_at == majlis.clock()
    assert (erased.country, erased.language, erased.sessions) == (
        someone.country,
        someone.language,
        someone.sessions,
    )
    assert "person1@example.org" not in erased.model_dump_json()
    assert "Ayesha" not in erased.model_dump_json()
    # The seat and the address are free again; nothing is owed by email.
    assert majlis.events.seats[EVENT_ID].registered == 0
    assert erased.mail_seq == someone.mail_seq
    again = register(majlis, EVENT_ID, person(1), form=False)
    assert again.registration_id != someone.registration_id


def test_the_audit_record_says_who_and_when_without_personal_data(majlis: Services):
    someone = _registered(majlis, 1, first_name="Ayesha")
    registrations.erase(majlis, EVENT_ID, someone.registration_id, by="tok123")
    registrations.erase(majlis, EVENT_ID, someone.registration_id, by="tok123")  # again
    (audit,) = majlis.registrations.audit
    assert audit["action"] == "erased"
    assert (audit["registration_id"], audit["by"]) == (someone.registration_id, "tok123")
    assert "Ayesha" not in str(audit) and "person1@" not in str(audit)


def test_links_of_an_erased_registration_no_longer_work(majlis: Services):
    someone = _registered(majlis, 1)
    event = majlis.events.get(EVENT_ID)
    links = registration_links(TEST_KEYS, "https://majlis.example", event, someone)
    join = links.join[someone.sessions[0]].rsplit("/", 1)[1]
    registrations.erase(majlis, EVENT_ID, someone.registration_id, by="tok123")
    with pytest.raises(access.LinkRefused):
        access.join(majlis, join)


def test_an_email_owed_before_erasure_is_never_sent(majlis: Services):
    someone = _registered(majlis, 1)
    registrations.erase(majlis, EVENT_ID, someone.registration_id, by="tok123")
    job = RegistrationMail(registration_id=someone.registration_id, seq=someone.mail_seq)
    assert send_registration_mail(majlis, job) == "cancelled"
    assert majlis.mailer.sent == []


def test_erasing_someone_waiting_frees_their_place_in_the_queue(majlis: Services):
    configure(majlis, capacity=1)
    _registered(majlis, 1)
    waiting = _registered(majlis, 2)
    assert waiting.status is Status.WAITLISTED
    registrations.erase(majlis, EVENT_ID, waiting.registration_id, by="tok123")
    seats = majlis.events.seats[EVENT_ID]
    assert (seats.registered, seats.waitlisted, seats.cancelled) == (1, 0, 1)


def test_unknown_registrations_are_404(majlis: Services):
    assert problem_of(lambda: registrations.erase(majlis, EVENT_ID, "0" * 26, "t")).status == 404
    someone = _registered(majlis, 1)
    wrong_event = lambda: registrations.erase(majlis, "other", someone.registration_id, "t")  # noqa: E731
    assert problem_of(wrong_event).status == 404


def test_the_zoom_registrant_is_cancelled_and_never_comes_back_from_zoom(majlis: Services):
    majlis.zoom_store.map_event(majlis.events.get(EVENT_ID))
    someone = _registered(majlis, 1, sessions=["education"])
    zoomsync.sync(majlis, [someone.registration_id])
    assert len(majlis.zoom.registrants_by[("webinar", EDUCATION)]) == 1
    registrations.erase(majlis, EVENT_ID, someone.registration_id, by="tok123")
    erased = majlis.registrations.get(someone.registration_id)
    assert erased is not None
    # No join URL kept: the registrant's id and its meeting (which room), to cancel it
    assert set(erased.zoom["education"]) == {"registrant_id", "meeting"}
    # Reconciling before the cancel reached Zoom: the registrant is cancelled by id, and
    # not taken for someone who registered in Zoom.
    report = zoomsync.reconcile(majlis)
    assert report.created_here == 0 and report.cancelled_in_zoom == 1
    assert majlis.zoom.registrants_by[("webinar", EDUCATION)] == {}
    assert [r for r in majlis.registrations.registrations.values() if r.email] == []


def test_the_stored_audit_record_holds_no_personal_data() -> None:
    """The table's own audit item (the fake above keeps the same fields)."""
    from chalicelib.adapters.dynamo.schema import audit_item
    from chalicelib.ports import Audit

    item = audit_item("conf", "01j0", Audit(action="erased", by="tok123"), NOW)
    assert item["pk"] == "EVENT#conf#AUDIT" and item["kind"] == "audit"
    assert (item["registration_id"], item["by"], item["action"]) == ("01j0", "tok123", "erased")
    assert set(item) == {"pk", "sk", "kind", "action", "registration_id", "by", "at"}
