"""Capacity and the waiting list, on the fakes (which keep the seat rule atomically)."""

from __future__ import annotations

import threading
from collections import Counter

from chalicelib.domain.registrations import Seats, Status, seat_free
from chalicelib.ports import Services
from chalicelib.usecases.registrations import Registered, register
from tests.builders import person
from tests.unit.support import EVENT_ID, configure


def sign_up(majlis: Services, n: int) -> Registered:
    return register(majlis, EVENT_ID, person(n), form=False)


def stored_statuses(majlis: Services) -> Counter[Status]:
    return Counter(r.status for r in majlis.registrations.registrations.values())


def test_the_seat_rule() -> None:
    assert seat_free(Seats(registered=1), 2) is True
    assert seat_free(Seats(registered=2), 2) is False
    assert seat_free(Seats(registered=0, waitlisted=1), 2) is False
    assert seat_free(Seats(), 0) is False
    assert seat_free(Seats(registered=10**6, waitlisted=5), None) is True


def test_with_capacity_two_the_third_person_is_waitlisted(majlis: Services) -> None:
    # Given an event with two seats
    configure(majlis, capacity=2)
    # When three people register
    outcomes = [sign_up(majlis, n) for n in (1, 2, 3)]
    # Then the first two have seats and the third is on the waiting list
    assert [o.status for o in outcomes] == [
        Status.REGISTERED,
        Status.REGISTERED,
        Status.WAITLISTED,
    ]
    assert all(o.new for o in outcomes)
    third = majlis.registrations.registrations[outcomes[2].registration_id]
    assert third.status is Status.WAITLISTED
    assert outcomes[2].view()["status"] == "waitlisted"
    assert majlis.events.seats[EVENT_ID] == Seats(registered=2, waitlisted=1)


def test_with_capacity_zero_everyone_is_waitlisted(majlis: Services) -> None:
    configure(majlis, capacity=0)
    outcomes = [sign_up(majlis, n) for n in range(1, 5)]
    assert {o.status for o in outcomes} == {Status.WAITLISTED}
    assert majlis.events.seats[EVENT_ID] == Seats(waitlisted=4)


def test_without_capacity_everyone_gets_a_seat(majlis: Services) -> None:
    configure(majlis, capacity=None)
    outcomes = [sign_up(majlis, n) for n in range(1, 51)]
    assert {o.status for o in outcomes} == {Status.REGISTERED}
    assert majlis.events.seats[EVENT_ID] == Seats(registered=50)


def test_once_anyone_waits_a_newcomer_waits_even_below_capacity(majlis: Services) -> None:
    # Given an event of two seats where one seat is taken and someone is waiting
    # (a seat freed by a cancellation belongs to the waiting list, not to a newcomer)
    configure(majlis, capacity=2)
    majlis.events.seats[EVENT_ID] = Seats(registered=1, waitlisted=1)
    # When a newcomer registers
    outcome = sign_up(majlis, 1)
    # Then they join the waiting list
    assert outcome.status is Status.WAITLISTED
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1, waitlisted=2)


def test_a_full_event_costs_one_write_per_newcomer_after_the_first_flip(majlis: Services) -> None:
    # Given an event with two seats, both taken with one write each
    configure(majlis, capacity=2)
    sign_up(majlis, 1)
    sign_up(majlis, 2)
    assert majlis.registrations.writes == 2
    # When the third person registers, a seat is tried first, then the waiting list
    assert sign_up(majlis, 3).status is Status.WAITLISTED
    assert majlis.registrations.writes == 4
    # Then the next newcomers go straight to the waiting list: one write each
    for n in (4, 5, 6):
        before = majlis.registrations.writes
        assert sign_up(majlis, n).status is Status.WAITLISTED
        assert majlis.registrations.writes == before + 1
    assert majlis.events.seats[EVENT_ID] == Seats(registered=2, waitlisted=4)


def test_a_wrong_guess_costs_a_write_never_a_wrong_answer(majlis: Services) -> None:
    # Given the hint believes the event is full while it has free seats
    configure(majlis, capacity=5)
    majlis.seat_hint.learn(EVENT_ID, Status.WAITLISTED)
    # When someone registers
    outcome = sign_up(majlis, 1)
    # Then they get a seat, at the price of one extra write
    assert outcome.status is Status.REGISTERED
    assert majlis.registrations.writes == 2
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)
    # And the hint has learnt: the next person costs one write
    sign_up(majlis, 2)
    assert majlis.registrations.writes == 3


def test_concurrent_registrations_fill_exactly_the_capacity(majlis: Services) -> None:
    # Given an event of 20 seats and 60 people registering at the same moment
    configure(majlis, capacity=20)
    start = threading.Barrier(60)
    outcomes: list[Registered] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        start.wait(timeout=10)
        try:
            outcome = sign_up(majlis, n)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)
            return
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # Then nobody failed, 20 have seats and 40 wait
    assert failures == []
    assert len(outcomes) == 60
    assert all(o.new for o in outcomes)
    assert Counter(o.status for o in outcomes) == {Status.REGISTERED: 20, Status.WAITLISTED: 40}
    # And what was answered, what is stored and the seat counter agree
    assert len({o.registration_id for o in outcomes}) == 60
    stored = majlis.registrations.registrations
    assert {o.registration_id: o.status for o in outcomes} == {
        rid: r.status for rid, r in stored.items()
    }
    assert stored_statuses(majlis) == {Status.REGISTERED: 20, Status.WAITLISTED: 40}
    assert majlis.events.seats[EVENT_ID] == Seats(registered=20, waitlisted=40)
