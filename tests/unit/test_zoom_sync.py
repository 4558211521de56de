"""Keeping Zoom's registrants the same as ours, on fakes: sync, the worker, reconciliation.

Adds go one by one or 30 to a call; our own add's echo changes nothing; at most
``zoom_adds_per_day`` adds are ever sent per registrant, session and day; what Zoom
refuses is classified (full, rate limited, rejected) and handled accordingly; the zoom
worker isolates bad messages; reconciliation repairs drift both ways and only reads
when there is nothing to repair.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.registrations import Registration, Status
from chalicelib.entrypoints.workers import zoom_batch
from chalicelib.ports import Change, Services, ZoomFailure, ZoomRegistrant
from chalicelib.signed_links import registration_links
from chalicelib.usecases import access, outbox, zoomhooks, zoomsync
from chalicelib.usecases.registrations import register
from tests.builders import person
from tests.fakes import TEST_KEYS
from tests.unit.support import configure

EVENT_ID = "conf"
EDUCATION = "81234567890"
FAMILY = "81234567891"
YOUTH = "81234567892"


@pytest.fixture
def zmajlis(majlis: Services) -> Services:
    majlis.zoom_store.map_event(majlis.events.get(EVENT_ID))
    return majlis


def registered(majlis: Services, n: int, sessions: list[str], **form: Any) -> Registration:
    outcome = register(majlis, EVENT_ID, person(n, sessions=sessions, **form), form=False)
    found = majlis.registrations.get(outcome.registration_id)
    assert found is not None
    return found


def current(majlis: Services, registration: Registration) -> Registration:
    found = majlis.registrations.get(registration.registration_id)
    assert found is not None
    return found


def in_zoom(majlis: Services, zoom_id: str, kind: str = "webinar") -> dict[str, ZoomRegistrant]:
    return dict(majlis.zoom.registrants_by.get((kind, zoom_id), {}))


def state_of(majlis: Services, registration: Registration, session_id: str) -> str | None:
    return current(majlis, registration).zoom_sync.get(session_id, {}).get("state")


def as_change(before: Registration | None, after: Registration) -> Change:
    def image(registration: Registration | None) -> dict[str, Any]:
        if registration is None:
            return {}
        return {**registration.model_dump(mode="json"), "kind": "registration"}

    return Change("1", "MODIFY" if before else "INSERT", image(before), image(after))


def echo(registrant: ZoomRegistrant, zoom_id: str, ts: int = 1700000000000) -> str:
    """The registration_created webhook Zoom sends back for an add."""
    return json.dumps(
        {
            "event": "webinar.registration_created",
            "event_ts": ts,
            "payload": {
                "account_id": "acct",
                "object": {
                    "uuid": "u==",
                    "id": int(zoom_id),
                    "host_id": "host",
                    "topic": "t",
                    "type": 5,
                    "start_time": "2027-03-06T12:00:00Z",
                    "duration": 120,
                    "timezone": "UTC",
                    "registrant": {
                        "id": registrant.registrant_id,
                        "first_name": "Amina",
                        "last_name": "Rahman",
                        "email": registrant.email,
                        "status": "approved",
                        "join_url": registrant.join_url,
                    },
                },
            },
        }
    )


# -- sync: adds ----------------------------------------------------------------------


def test_one_registrant_is_added_with_one_add_call(zmajlis):
    mine = registered(zmajlis, 1, ["education"], first_name="فاطمة", last_name=None)
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["add"]
    assert (outcome.synced, outcome.calls, outcome.retry, outcome.dead) == (1, 1, {}, {})
    there = in_zoom(zmajlis, EDUCATION)["person1@example.org"]
    after = current(zmajlis, mine)
    assert after.zoom == {
        "education": {
            "registrant_id": there.registrant_id,
            "join_url": there.join_url,
            "meeting": f"webinar:{EDUCATION}",
        }
    }
    assert after.zoom_sync["education"]["state"] == "synced"
    assert zmajlis.zoom_store.registration_for_registrant(there.registrant_id) == (
        mine.registration_id
    )


def test_what_an_add_sends_to_zoom(zmajlis):
    sent: list[tuple[str, str, dict]] = []
    original = zmajlis.zoom.add

    def spy(kind: str, zoom_id: str, who: dict[str, str]) -> ZoomRegistrant:
        sent.append((kind, zoom_id, dict(who)))
        return original(kind, zoom_id, who)

    zmajlis.zoom.add = spy
    mine = registered(zmajlis, 1, ["education"], email="Amina@Bücher.example")
    zoomsync.sync(zmajlis, [mine.registration_id])
    [(kind, zoom_id, who)] = sent
    assert (kind, zoom_id) == ("webinar", EDUCATION)
    # the domain as punycode (Zoom, like SES, takes ASCII addresses)
    assert who == {
        "email": "Amina@xn--bcher-kva.example",
        "first_name": "Amina",
        "last_name": "Rahman",
    }
    assert current(zmajlis, mine).zoom["education"]["registrant_id"]


def test_one_registration_for_three_sessions_is_three_adds(zmajlis):
    mine = registered(zmajlis, 1, ["education", "family", "youth"])
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["add", "add", "add"]
    assert outcome.synced == 3
    assert set(current(zmajlis, mine).zoom) == {"education", "family", "youth"}
    for zoom_id in (EDUCATION, FAMILY, YOUTH):
        assert list(in_zoom(zmajlis, zoom_id)) == ["person1@example.org"]


@pytest.mark.parametrize(
    ("people", "calls"),
    [
        (2, ["add_many"]),
        (30, ["add_many"]),
        (31, ["add_many", "add"]),  # the 31st alone: a plain add
        (65, ["add_many"] * 3),  # 30 + 30 + 5
    ],
)
def test_several_for_one_webinar_go_30_to_a_batch(zmajlis, people, calls):
    mine = [registered(zmajlis, n, ["education"]) for n in range(people)]
    sizes: list[int] = []
    original = zmajlis.zoom.add_many

    def spy(kind: str, zoom_id: str, who: list[dict[str, str]]) -> list[ZoomRegistrant]:
        sizes.append(len(who))
        return original(kind, zoom_id, who)

    zmajlis.zoom.add_many = spy
    outcome = zoomsync.sync(zmajlis, [r.registration_id for r in mine])
    assert zmajlis.zoom.calls == calls
    assert all(size <= 30 for size in sizes) and sum(sizes) + calls.count("add") == people
    assert (outcome.synced, outcome.calls) == (people, len(calls))
    zoom = in_zoom(zmajlis, EDUCATION)
    assert len(zoom) == people
    for registration in mine:
        after = current(zmajlis, registration)
        there = zoom[registration.email]
        assert after.zoom["education"] == {
            "registrant_id": there.registrant_id,
            "join_url": there.join_url,
            "meeting": f"webinar:{EDUCATION}",
        }


def test_the_same_registration_twice_in_one_run_is_added_once(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zoomsync.sync(zmajlis, [mine.registration_id, mine.registration_id])
    assert zmajlis.zoom.calls == ["add"]


def test_a_synced_registration_is_not_added_again(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zoomsync.sync(zmajlis, [mine.registration_id])
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["add"]
    assert outcome.calls == 0


def test_a_waitlisted_registration_is_not_added(zmajlis):
    configure(zmajlis, capacity=1)
    first = registered(zmajlis, 1, ["education"])
    waiting = registered(zmajlis, 2, ["education"])
    assert waiting.status is Status.WAITLISTED
    outcome = zoomsync.sync(zmajlis, [waiting.registration_id])
    assert zmajlis.zoom.calls == []
    assert outcome.calls == 0
    assert current(zmajlis, waiting).zoom == {}
    assert first.status is Status.REGISTERED


def test_a_session_without_zoom_is_not_synced(zmajlis):
    event = configure(zmajlis)
    body = event.model_dump(mode="json")
    body["sessions"][0].pop("zoom")
    from chalicelib.domain.events import Event

    zmajlis.events.put(Event.model_validate(body), zmajlis.clock())
    mine = registered(zmajlis, 1, ["education", "family"])
    zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["add"]
    assert set(current(zmajlis, mine).zoom) == {"family"}


def test_our_own_adds_echo_changes_nothing_and_pushes_nothing_back(zmajlis):
    mine = registered(zmajlis, 1, ["education", "family"])
    zoomsync.sync(zmajlis, [mine.registration_id])
    before = current(zmajlis, mine)
    calls = list(zmajlis.zoom.calls)
    jobs = list(zmajlis.zoom_queue.jobs)
    for zoom_id in (EDUCATION, FAMILY):
        there = in_zoom(zmajlis, zoom_id)["person1@example.org"]
        assert zoomhooks.apply(zmajlis, echo(there, zoom_id)) == "known"
    after = current(zmajlis, mine)
    assert after == before
    # the change the echo made (none) sets off no Zoom job, and Zoom hears nothing
    outbox.relay(zmajlis, [as_change(before, after)])
    assert zmajlis.zoom_queue.jobs == jobs
    assert zmajlis.zoom.calls == calls
    assert zoomsync.sync(zmajlis, [mine.registration_id]).calls == 0


def test_an_echo_arriving_before_the_add_answers_records_the_same_registrant(zmajlis):
    # Zoom may deliver the webhook before the API response that caused it.
    mine = registered(zmajlis, 1, ["education"])
    early = ZoomRegistrant(
        "person1@example.org", "zr1", f"https://us06web.zoom.us/w/{EDUCATION}?tk=1"
    )
    assert zoomhooks.apply(zmajlis, echo(early, EDUCATION)) == "known"
    after = current(zmajlis, mine)
    assert after.zoom["education"]["registrant_id"] == "zr1"
    assert zoomsync.sync(zmajlis, [mine.registration_id]).calls == 0
    assert zmajlis.zoom.calls == []


def bodies(jobs: list[Any]) -> list[dict[str, Any]]:
    """Jobs as the queue carries them."""
    return [json.loads(job.message()) for job in jobs]


def test_only_a_change_of_status_or_sessions_sets_off_zoom_work(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    assert bodies(zoomsync.jobs_for_change(as_change(None, mine))) == [
        {"type": "zoom_sync", "registration_id": mine.registration_id}
    ]
    zoomsync.sync(zmajlis, [mine.registration_id])
    synced = current(zmajlis, mine)
    assert zoomsync.jobs_for_change(as_change(mine, synced)) == []
    moved = synced.model_copy(update={"sessions": ["education", "family"]})
    assert bodies(zoomsync.jobs_for_change(as_change(synced, moved))) == [
        {"type": "zoom_sync", "registration_id": mine.registration_id}
    ]


# -- sync: cancels -------------------------------------------------------------------


def test_dropping_a_session_cancels_that_registrant_in_zoom_and_forgets_it(zmajlis, clock):
    mine = registered(zmajlis, 1, ["education", "family"])
    zoomsync.sync(zmajlis, [mine.registration_id])
    family_id = current(zmajlis, mine).zoom["family"]["registrant_id"]
    zmajlis.registrations.change(
        current(zmajlis, mine), {"sessions": ["education"]}, ["family"], clock()
    )
    zmajlis.zoom.calls.clear()
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["cancel"]
    assert outcome.cancelled == 1
    after = current(zmajlis, mine)
    assert set(after.zoom) == {"education"}
    assert after.zoom_sync["family"]["state"] == "cancelled"
    assert in_zoom(zmajlis, FAMILY) == {}
    assert "person1@example.org" in in_zoom(zmajlis, EDUCATION)
    assert family_id  # it was there
    assert zoomsync.sync(zmajlis, [mine.registration_id]).calls == 0


def test_a_cancelled_registration_is_cancelled_in_every_zoom_session(zmajlis, clock):
    mine = registered(zmajlis, 1, ["education", "family"])
    zoomsync.sync(zmajlis, [mine.registration_id])
    zmajlis.registrations.cancel(current(zmajlis, mine), clock())
    zmajlis.zoom.calls.clear()
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["cancel", "cancel"]
    assert outcome.cancelled == 2
    assert in_zoom(zmajlis, EDUCATION) == {} and in_zoom(zmajlis, FAMILY) == {}
    assert current(zmajlis, mine).zoom == {}


def test_a_cancel_that_fails_for_now_is_retried(zmajlis, clock):
    mine = registered(zmajlis, 1, ["education"])
    zoomsync.sync(zmajlis, [mine.registration_id])
    zmajlis.registrations.cancel(current(zmajlis, mine), clock())
    zmajlis.zoom.fail = ZoomFailure("unavailable", "HTTP 503")
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert outcome.retry == {mine.registration_id: None}
    assert "education" in current(zmajlis, mine).zoom  # not forgotten before Zoom agreed
    zoomsync.sync(zmajlis, [mine.registration_id])
    assert in_zoom(zmajlis, EDUCATION) == {}


# -- sync: the daily budget ----------------------------------------------------------


def test_at_most_the_daily_budget_of_adds_is_sent_then_deferred_until_tomorrow(zmajlis, clock):
    assert zmajlis.settings.zoom_adds_per_day == 2
    mine = registered(zmajlis, 1, ["education"])
    outcomes = []
    for _ in range(5):
        zmajlis.zoom.fail = ZoomFailure("unavailable", "HTTP 503")
        outcomes.append(zoomsync.sync(zmajlis, [mine.registration_id]))
        clock.advance(minutes=10)
    zmajlis.zoom.fail = None
    assert zmajlis.zoom.calls == ["add", "add"]  # sent: never more than the budget
    assert [o.calls for o in outcomes] == [1, 1, 0, 0, 0]
    assert outcomes[0].retry == {mine.registration_id: None}
    assert outcomes[2].retry == {} and outcomes[2].skipped == 1
    after = current(zmajlis, mine)
    assert after.zoom_sync["education"]["state"] == "deferred"
    assert "reason" in after.zoom_sync["education"]
    assert after.zoom_tries == {"education@2027-03-01": 2}
    # the same day, nothing more is sent even when Zoom is back
    zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["add", "add"]
    # the next UTC day it may try again
    clock.advance(days=1)
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert zmajlis.zoom.calls == ["add", "add", "add"]
    assert outcome.synced == 1
    assert state_of(zmajlis, mine, "education") == "synced"


def test_a_per_second_429_does_not_spend_the_days_budget(zmajlis):
    # Zoom refuses a per-second 429 unread; it does not count against its 3 a day.
    mine = registered(zmajlis, 1, ["education"])
    for _ in range(3):
        zmajlis.zoom.fail = ZoomFailure("rate_limited", "429 429")  # no Retry-After
        zoomsync.sync(zmajlis, [mine.registration_id])
    zoomsync.sync(zmajlis, [mine.registration_id])  # Zoom answers now
    assert state_of(zmajlis, mine, "education") == "synced"
    assert current(zmajlis, mine).zoom_tries == {"education@2027-03-01": 1}


def test_a_per_second_429_on_a_batch_spends_nobodys_budget(zmajlis):
    people = [registered(zmajlis, n, ["education"]) for n in range(3)]
    ids = [r.registration_id for r in people]
    for _ in range(4):
        zmajlis.zoom.fail = ZoomFailure("rate_limited", "429 429")
        assert set(zoomsync.sync(zmajlis, ids).retry) == set(ids)
    assert zoomsync.sync(zmajlis, ids).synced == 3
    for registration in people:
        assert current(zmajlis, registration).zoom_tries == {"education@2027-03-01": 1}


def test_the_budget_counts_per_session(zmajlis):
    mine = registered(zmajlis, 1, ["education", "family"])
    for _ in range(2):
        zmajlis.zoom.fail = ZoomFailure("unavailable", "HTTP 503")  # the first add fails
        zoomsync.sync(zmajlis, [mine.registration_id])
    # education: two failed; family: added on the first run
    after = current(zmajlis, mine)
    assert set(after.zoom) == {"family"}
    assert after.zoom_tries["education@2027-03-01"] == 2
    assert after.zoom_tries["family@2027-03-01"] == 1


def test_the_budget_is_counted_in_a_batch_too(zmajlis):
    people = [registered(zmajlis, n, ["education"]) for n in range(3)]
    ids = [r.registration_id for r in people]
    for _ in range(4):
        zmajlis.zoom.fail = ZoomFailure("unavailable", "HTTP 502")
        zoomsync.sync(zmajlis, ids)
    assert zmajlis.zoom.calls == ["add_many", "add_many"]
    for registration in people:
        assert state_of(zmajlis, registration, "education") == "deferred"


def test_a_daily_limit_from_zoom_defers_without_retrying(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("daily_limit", "429 429", retry_after=3600)
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert outcome.retry == {} and outcome.dead == {}
    assert state_of(zmajlis, mine, "education") == "deferred"


# -- sync: what Zoom refuses ---------------------------------------------------------


def test_a_full_session_is_recorded_and_the_join_link_leads_to_the_generic_url(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("full", "3043")
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert outcome.retry == {} and outcome.dead == {}
    after = current(zmajlis, mine)
    assert after.zoom_sync["education"]["state"] == "full"
    assert zmajlis.zoom_store.full == {(EVENT_ID, "education")}
    links = registration_links(
        TEST_KEYS, "https://r.example.org", zmajlis.events.get(EVENT_ID), after
    )
    token = links.join["education"].rsplit("/", 1)[1]
    assert access.join(zmajlis, token) == f"https://us06web.zoom.us/w/{EDUCATION}"
    # and no automatic add tries again
    assert zoomsync.sync(zmajlis, [mine.registration_id]).calls == 0
    assert zmajlis.zoom.calls == ["add"]


def test_after_a_full_batch_the_registrants_go_one_by_one(zmajlis):
    class OneSeatLeft(type(zmajlis.zoom)):
        def add_many(self, kind, zoom_id, people):
            self.calls.append("add_many")
            if len(self._meeting(kind, zoom_id)) + len(people) > 1:
                raise ZoomFailure("full", "3043")
            return [self._added(kind, zoom_id, p) for p in people]

        def add(self, kind, zoom_id, who):
            self.calls.append("add")
            if len(self._meeting(kind, zoom_id)) >= 1:
                raise ZoomFailure("full", "3043")
            return self._added(kind, zoom_id, who)

    zmajlis.zoom = OneSeatLeft()
    people = [registered(zmajlis, n, ["education"]) for n in range(3)]
    ids = [r.registration_id for r in people]
    for _ in range(3):  # and the worker brings back whatever it is asked to retry
        outcome = zoomsync.sync(zmajlis, ids)
        if not outcome.retry:
            break
    states = sorted(state_of(zmajlis, r, "education") for r in people)
    assert states == ["full", "full", "synced"]
    assert zmajlis.zoom_store.full == {(EVENT_ID, "education")}
    for registration in people:  # within the budget, all the same
        tries = current(zmajlis, registration).zoom_tries.get("education@2027-03-01", 0)
        assert tries <= zmajlis.settings.zoom_adds_per_day


def test_rate_limited_is_retried_after_zooms_retry_after(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("rate_limited", "429 429", retry_after=7)
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert outcome.retry == {mine.registration_id: 7}
    assert outcome.dead == {}
    assert state_of(zmajlis, mine, "education") == "sending"


def test_unavailable_is_retried_with_no_hint(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("unavailable", "HTTP 503")
    assert zoomsync.sync(zmajlis, [mine.registration_id]).retry == {mine.registration_id: None}


def test_a_rejection_is_dead_with_its_reason_and_never_retried(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("rejected", "HTTP 400 code 300: Invalid field.")
    outcome = zoomsync.sync(zmajlis, [mine.registration_id])
    assert outcome.retry == {}
    assert list(outcome.dead) == [mine.registration_id]
    assert "Invalid field." in outcome.dead[mine.registration_id]
    assert EDUCATION in outcome.dead[mine.registration_id]
    after = current(zmajlis, mine)
    assert after.zoom_sync["education"]["state"] == "failed"
    assert "Invalid field." in after.zoom_sync["education"]["reason"]
    assert zoomsync.sync(zmajlis, [mine.registration_id]).calls == 0
    assert zmajlis.zoom.calls == ["add"]


def test_after_an_auth_failure_is_fixed_the_registrant_is_added(zmajlis):
    # Our credentials failed, not this person.
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("auth", "token refused: HTTP 400")
    zoomsync.sync(zmajlis, [mine.registration_id])
    # the operator fixes the credentials; reconciliation runs
    report = zoomsync.reconcile(zmajlis)
    for job in zmajlis.zoom_queue.jobs:
        zoomsync.sync(zmajlis, [job["registration_id"]])
    assert report.adds_queued == 1
    assert state_of(zmajlis, mine, "education") == "synced"


def test_a_registrant_missing_from_a_batch_answer_is_retried(zmajlis):
    people = [registered(zmajlis, n, ["education"]) for n in range(3)]
    original = zmajlis.zoom.add_many

    def partial(kind: str, zoom_id: str, who: list[dict[str, str]]) -> list[ZoomRegistrant]:
        return original(kind, zoom_id, who)[:2]

    zmajlis.zoom.add_many = partial
    outcome = zoomsync.sync(zmajlis, [r.registration_id for r in people])
    assert outcome.synced == 2
    assert outcome.retry == {people[2].registration_id: None}


# -- the zoom worker -----------------------------------------------------------------


def zoom_worker_batch(services: Any, records: list[dict[str, Any]]) -> list[str]:
    """The zoom worker on one batch: the ids of the messages to deliver again."""
    answer = zoom_batch(services, records)
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def record(job: Any, n: int, receive_count: int = 1) -> dict[str, Any]:
    body = job if isinstance(job, str) else json.dumps(job)
    return {
        "messageId": f"m{n}",
        "receiptHandle": f"h{n}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
    }


def sync_job(registration: Registration) -> dict[str, str]:
    return {"type": "zoom_sync", "registration_id": registration.registration_id}


def test_the_worker_syncs_a_batch_together(zmajlis):
    people = [registered(zmajlis, n, ["education"]) for n in range(5)]
    failed = zoom_worker_batch(zmajlis, [record(sync_job(r), i) for i, r in enumerate(people)])
    assert failed == []
    assert zmajlis.zoom.calls == ["add_many"]
    assert len(in_zoom(zmajlis, EDUCATION)) == 5


@pytest.mark.parametrize(
    "poison",
    ["not json", json.dumps({"type": "mystery"}), json.dumps({"type": "zoom_sync"}), "[]"],
    ids=["not json", "unknown type", "no registration id", "not an object"],
)
def test_a_poison_message_fails_alone(zmajlis, poison):
    people = [registered(zmajlis, n, ["education"]) for n in range(2)]
    records = [record(sync_job(people[0]), 0), record(poison, 1), record(sync_job(people[1]), 2)]
    assert zoom_worker_batch(zmajlis, records) == ["m1"]
    assert len(in_zoom(zmajlis, EDUCATION)) == 2
    assert zmajlis.zoom_dead_letters.jobs == []


def test_a_webhook_job_is_applied_and_a_bad_one_fails_alone(zmajlis):
    there = ZoomRegistrant("new@example.org", "zr-new", "https://us06web.zoom.us/w/x?tk=1")
    records = [
        record({"type": "zoom_webhook", "body": echo(there, FAMILY)}, 0),
        record({"type": "zoom_webhook", "body": "{not json"}, 1),
    ]
    assert zoom_worker_batch(zmajlis, records) == ["m1"]
    [created] = zmajlis.registrations.registrations.values()
    assert (created.email, created.source, created.sessions) == (
        "new@example.org",
        "zoom",
        ["family"],
    )


def test_a_rejected_job_goes_to_the_dead_letters_with_its_reason(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("rejected", "HTTP 400 code 300: Invalid email.")
    failed = zoom_worker_batch(zmajlis, [record(sync_job(mine), 0)])
    assert failed == []  # done with: not delivered again
    [dead] = zmajlis.zoom_dead_letters.jobs
    assert dead["type"] == "zoom_sync"
    assert dead["registration_id"] == mine.registration_id
    assert "Invalid email." in dead["reason"]
    assert zmajlis.zoom_queue.delays == []


def test_a_rate_limited_job_comes_back_after_retry_after_plus_one(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("rate_limited", "429", retry_after=7)
    failed = zoom_worker_batch(zmajlis, [record(sync_job(mine), 0)])
    assert failed == ["m0"]
    assert zmajlis.zoom_queue.delays == [("h0", 8)]


@pytest.mark.parametrize(("count", "delay"), [(1, 2), (3, 8), (9, 512), (10, 900), (30, 900)])
def test_a_job_without_a_hint_comes_back_after_an_exponential_backoff(zmajlis, count, delay):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("unavailable", "HTTP 503")
    failed = zoom_worker_batch(zmajlis, [record(sync_job(mine), 0, receive_count=count)])
    assert failed == ["m0"]
    assert zmajlis.zoom_queue.delays == [("h0", delay)]


def test_two_messages_for_one_registration_are_retried_together(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    zmajlis.zoom.fail = ZoomFailure("rate_limited", "429", retry_after=3)
    failed = zoom_worker_batch(
        zmajlis, [record(sync_job(mine), 0), record(sync_job(mine), 1, receive_count=2)]
    )
    assert sorted(failed) == ["m0", "m1"]
    assert sorted(zmajlis.zoom_queue.delays) == [("h0", 4), ("h1", 4)]
    assert zmajlis.zoom.calls == ["add"]


# -- reconciliation ------------------------------------------------------------------


def synced_people(majlis: Services) -> list[Registration]:
    people = [
        registered(majlis, 1, ["education", "family"]),
        registered(majlis, 2, ["education"]),
        registered(majlis, 3, ["family", "youth"]),
    ]
    zoomsync.sync(majlis, [r.registration_id for r in people])
    majlis.zoom.calls.clear()
    return [current(majlis, r) for r in people]


def test_reconcile_with_nothing_to_fix_only_reads(zmajlis):
    synced_people(zmajlis)
    report = zoomsync.reconcile(zmajlis)
    assert set(zmajlis.zoom.calls) == {"registrants"}
    assert len(zmajlis.zoom.calls) == 8  # one page per session
    assert report.repairs == 0
    assert (report.sessions, report.in_zoom) == (8, 5)
    assert zmajlis.zoom_queue.jobs == []


def test_reconcile_reads_every_page(zmajlis):
    people = [registered(zmajlis, n, ["education"]) for n in range(301)]
    zoomsync.sync(zmajlis, [r.registration_id for r in people])
    zmajlis.zoom.calls.clear()
    report = zoomsync.reconcile(zmajlis)
    assert report.in_zoom == 301 and report.repairs == 0
    assert zmajlis.zoom.calls.count("registrants") == 9  # education has two pages


def test_reconcile_queues_a_missing_add(zmajlis):
    people = synced_people(zmajlis)
    late = registered(zmajlis, 4, ["family"])  # never synced
    report = zoomsync.reconcile(zmajlis)
    assert report.adds_queued == 1
    assert zmajlis.zoom_queue.jobs == [
        {"type": "zoom_sync", "registration_id": late.registration_id}
    ]
    assert "add" not in zmajlis.zoom.calls and "add_many" not in zmajlis.zoom.calls
    assert people


def test_reconcile_does_not_queue_adds_that_must_not_be_retried(zmajlis):
    synced_people(zmajlis)
    full = registered(zmajlis, 4, ["family"])
    zmajlis.zoom.fail = ZoomFailure("full", "3043")
    zoomsync.sync(zmajlis, [full.registration_id])
    zmajlis.zoom.calls.clear()
    report = zoomsync.reconcile(zmajlis)
    assert report.adds_queued == 0 and zmajlis.zoom_queue.jobs == []


def test_reconcile_records_ids_zoom_has_but_we_missed(zmajlis):
    mine = registered(zmajlis, 1, ["education"])
    there = zmajlis.zoom._added("webinar", EDUCATION, {"email": "person1@example.org"})
    report = zoomsync.reconcile(zmajlis)
    assert report.ids_recorded == 1
    assert current(zmajlis, mine).zoom["education"]["registrant_id"] == there.registrant_id
    assert "add" not in zmajlis.zoom.calls


def test_reconcile_drops_here_a_registrant_cancelled_in_zoom(zmajlis):
    people = synced_people(zmajlis)
    first = people[0]
    del zmajlis.zoom.registrants_by[("webinar", EDUCATION)]["person1@example.org"]
    report = zoomsync.reconcile(zmajlis)
    assert report.dropped_here == 1
    after = current(zmajlis, first)
    assert after.status is Status.REGISTERED
    assert after.sessions == ["family"]
    assert set(after.zoom) == {"family"}
    # the last session of someone else: cancelled here
    del zmajlis.zoom.registrants_by[("webinar", EDUCATION)]["person2@example.org"]
    zoomsync.reconcile(zmajlis)
    assert current(zmajlis, people[1]).status is Status.CANCELLED
    assert "cancel" not in zmajlis.zoom.calls


def test_reconcile_creates_here_a_zoom_registrant_unknown_to_us(zmajlis):
    synced_people(zmajlis)
    zmajlis.zoom._added("webinar", YOUTH, {"email": "Stranger@Example.org", "first_name": "Yusuf"})
    report = zoomsync.reconcile(zmajlis)
    assert report.created_here == 1
    [stranger] = [
        r
        for r in zmajlis.registrations.registrations.values()
        if r.email_key == "stranger@example.org"
    ]
    assert (stranger.source, stranger.status, stranger.sessions) == (
        "zoom",
        Status.REGISTERED,
        ["youth"],
    )
    assert stranger.zoom["youth"]["registrant_id"]


def test_reconcile_adds_here_a_session_one_of_ours_registered_for_in_zoom(zmajlis):
    people = synced_people(zmajlis)
    zmajlis.zoom._added("webinar", YOUTH, {"email": "person2@example.org"})
    report = zoomsync.reconcile(zmajlis)
    assert report.created_here == 1
    assert current(zmajlis, people[1]).sessions == ["education", "youth"]


def test_reconcile_cancels_in_zoom_a_registration_cancelled_here(zmajlis, clock):
    people = synced_people(zmajlis)
    zmajlis.registrations.cancel(people[1], clock())  # the sync of it never happened
    report = zoomsync.reconcile(zmajlis)
    assert report.cancelled_in_zoom == 1
    assert zmajlis.zoom.calls.count("cancel") == 1
    assert "person2@example.org" not in in_zoom(zmajlis, EDUCATION)
    assert "person1@example.org" in in_zoom(zmajlis, EDUCATION)


def test_a_second_reconcile_after_repairs_repairs_nothing(zmajlis, clock):
    people = synced_people(zmajlis)
    registered(zmajlis, 4, ["family"])  # missing add
    # (FakeZoom numbers registrant ids by count: add before removing, or ids collide)
    zmajlis.zoom._added("webinar", YOUTH, {"email": "stranger@example.org"})  # unknown here
    del zmajlis.zoom.registrants_by[("webinar", FAMILY)]["person3@example.org"]  # gone in Zoom
    zmajlis.registrations.cancel(people[1], clock())  # cancelled here, still in Zoom
    first = zoomsync.reconcile(zmajlis)
    assert (first.adds_queued, first.dropped_here, first.created_here, first.cancelled_in_zoom) == (
        1,
        1,
        1,
        1,
    )
    # the queued add is done by the worker
    [job] = zmajlis.zoom_queue.jobs
    zoom_worker_batch(zmajlis, [record(job, 0)])
    zmajlis.zoom.calls.clear()
    second = zoomsync.reconcile(zmajlis)
    assert second.repairs == 0, second
    assert set(zmajlis.zoom.calls) == {"registrants"}


def test_reconcile_keeps_the_zoom_registrant_of_someone_who_cancelled_and_registered_again(
    zmajlis, clock
):
    first = registered(zmajlis, 1, ["education"])
    zoomsync.sync(zmajlis, [first.registration_id])
    zmajlis.registrations.cancel(current(zmajlis, first), clock())
    zoomsync.sync(zmajlis, [first.registration_id])  # cancelled in Zoom, forgotten here
    assert in_zoom(zmajlis, EDUCATION) == {}
    clock.advance(minutes=5)
    again = registered(zmajlis, 1, ["education"])
    assert again.registration_id != first.registration_id
    zoomsync.sync(zmajlis, [again.registration_id])
    assert "person1@example.org" in in_zoom(zmajlis, EDUCATION)
    zmajlis.zoom.calls.clear()
    report = zoomsync.reconcile(zmajlis)
    assert report.repairs == 0
    assert "cancel" not in zmajlis.zoom.calls
    assert "person1@example.org" in in_zoom(zmajlis, EDUCATION)


def test_reconcile_skips_events_without_zoom(zmajlis):
    assert zoomsync.reconcile(fresh_without_mapping(zmajlis)).sessions == 0


def fresh_without_mapping(majlis: Services) -> Services:
    majlis.zoom_store.events.clear()
    return majlis


# -- a session given another Zoom meeting -----------------------------------------------

ANOTHER = "81234567899"


def _education_moved_to_another_webinar(majlis: Services) -> None:
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body

    body = event_body()
    for session in body["sessions"]:
        if session["id"] == "education":
            session["zoom"] = {"type": "webinar", "id": ANOTHER}
            session["join_url"] = f"https://us06web.zoom.us/w/{ANOTHER}"
    put_event(majlis, EVENT_ID, body)
    majlis.zoom_store.map_event(majlis.events.get(EVENT_ID))


def test_a_session_given_another_meeting_keeps_its_people_and_registers_them_there(zmajlis):
    people = synced_people(zmajlis)
    holders = [r for r in people if "education" in r.sessions]
    old = {r.registration_id: r.zoom["education"]["join_url"] for r in holders}
    _education_moved_to_another_webinar(zmajlis)

    # Until they are registered in the new webinar, their links lead to its own URL,
    # never to the old webinar's personal URLs
    event = zmajlis.events.get(EVENT_ID)
    for registration in holders:
        links = registration_links(TEST_KEYS, "https://r.example.org", event, registration)
        token = links.join["education"].rsplit("/", 1)[1]
        assert access.join(zmajlis, token) == f"https://us06web.zoom.us/w/{ANOTHER}"

    # Reconciling finds nobody in the new webinar: that is not a cancellation in Zoom
    report = zoomsync.reconcile(zmajlis)
    assert report.dropped_here == 0 and report.cancelled_in_zoom == 0
    assert [current(zmajlis, r).sessions for r in people] == [r.sessions for r in people]
    assert sorted(j["registration_id"] for j in zmajlis.zoom_queue.jobs) == sorted(old)

    # The sync registers them in the new webinar, and their links lead there
    outcome = zoomsync.sync(zmajlis, sorted(old))
    assert outcome.synced == len(old)
    there = in_zoom(zmajlis, ANOTHER)
    for registration in holders:
        after = current(zmajlis, registration)
        new = there[registration.email]
        assert after.zoom["education"] == {
            "registrant_id": new.registrant_id,
            "join_url": new.join_url,
            "meeting": f"webinar:{ANOTHER}",
        }
        assert new.join_url != old[registration.registration_id]
        links = registration_links(TEST_KEYS, "https://r.example.org", event, after)
        assert access.join(zmajlis, links.join["education"].rsplit("/", 1)[1]) == new.join_url
    # And a second reconcile has nothing to repair
    zmajlis.zoom_queue.jobs.clear()
    assert zoomsync.reconcile(zmajlis).repairs == 0


def test_webhooks_of_a_sessions_earlier_meeting_change_nothing(zmajlis):
    people = synced_people(zmajlis)
    first = people[0]
    registrant = ZoomRegistrant(
        first.email, first.zoom["education"]["registrant_id"], first.zoom["education"]["join_url"]
    )
    _education_moved_to_another_webinar(zmajlis)
    cancelled = json.loads(echo(registrant, EDUCATION, ts=1800000000000))
    cancelled["event"] = "webinar.registration_cancelled"
    assert zoomhooks.apply(zmajlis, json.dumps(cancelled)) == "an earlier meeting of the session"
    assert current(zmajlis, first).sessions == first.sessions
