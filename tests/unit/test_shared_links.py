"""Shared join links become visible: the distinct client networks (/24, /48) that open a
registrant's join links are counted, as keyed hashes; past the event's threshold the
registration is flagged ``link_shared`` (nothing is refused)."""

from __future__ import annotations

import pytest

from chalicelib.domain.networks import MOST_NETWORKS, network_of
from chalicelib.signed_links import registration_links
from chalicelib.usecases.access import join, peek
from chalicelib.usecases.registrations import register
from tests.builders import person
from tests.fakes import TEST_KEYS
from tests.unit.support import configure


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("192.0.2.77", "192.0.2.0/24"),
        ("::ffff:192.0.2.77", "192.0.2.0/24"),  # IPv4 as an IPv6 socket reports it
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("not an address", None),
        (None, None),
        ("", None),
    ],
)
def test_a_network_is_a_slash_24_or_a_slash_48(address, network):
    assert network_of(address) == network


def _token(majlis, session: str = "education") -> tuple[str, str]:
    outcome = register(majlis, "conf", person(1), form=False)
    registration = majlis.registrations.get(outcome.registration_id)
    links = registration_links(
        TEST_KEYS, "https://r.example.org", majlis.events.get("conf"), registration
    )
    return outcome.registration_id, links.join[session].rsplit("/", 1)[1]


def test_one_network_is_one_however_many_hosts_and_clicks(majlis):
    configure(majlis)
    registration_id, token = _token(majlis)
    for host in range(1, 30):
        join(majlis, token, f"192.0.2.{host}")
    found = majlis.registrations.get(registration_id)
    assert len(found.networks) == 1
    assert "192.0.2" not in found.networks[0]  # a keyed hash, not the address
    assert found.link_shared is False


def test_past_the_threshold_the_registration_is_flagged_once(majlis):
    configure(majlis, shared_link_networks=3)
    registration_id, token = _token(majlis)
    for n in range(3):  # home, work, phone: one person
        join(majlis, token, f"198.51.{n}.7")
    assert majlis.registrations.get(registration_id).link_shared is False
    join(majlis, token, "203.0.113.9")
    assert majlis.registrations.get(registration_id).link_shared is True
    writes = majlis.registrations.writes
    join(majlis, token, "2001:db8:1::5")
    assert majlis.registrations.writes == writes + 1  # the click alone: flagged already


def test_the_networks_kept_are_bounded_and_every_click_still_counts(majlis, clock):
    configure(majlis)
    registration_id, token = _token(majlis)
    for n in range(MOST_NETWORKS + 5):
        clock.advance(minutes=1)
        assert join(majlis, token, f"10.{n}.0.1")
    found = majlis.registrations.get(registration_id)
    assert len(found.networks) == MOST_NETWORKS
    assert found.clicks["education"]["last"] == clock()
    assert found.link_shared is True


def test_a_head_and_a_click_without_an_address_record_no_network(majlis):
    configure(majlis)
    registration_id, token = _token(majlis)
    peek(majlis, token)
    join(majlis, token)
    assert majlis.registrations.get(registration_id).networks == []


def test_the_organizer_view_says_whether_the_link_was_shared(majlis):
    configure(majlis, shared_link_networks=1)
    registration_id, token = _token(majlis)
    assert majlis.registrations.get(registration_id).organizer_view()["link_shared"] is False
    join(majlis, token, "192.0.2.1")
    join(majlis, token, "198.51.100.1")
    view = majlis.registrations.get(registration_id).organizer_view()
    assert view["link_shared"] is True
    assert "networks" not in view
