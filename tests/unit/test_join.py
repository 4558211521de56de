"""Following a join link, on fakes: where it leads, what it records, why it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.registrations import Status
from chalicelib.pages.refusals import refusal_page_text
from chalicelib.signed_links import Link, Purpose, registration_links, sign
from chalicelib.usecases.access import LinkRefused, Refusal, join
from chalicelib.usecases.registrations import register
from tests.builders import person
from tests.fakes import TEST_KEYS


def _registered(majlis, n: int = 1, **form):
    outcome = register(majlis, "conf", person(n, **form), form=False)
    registration = majlis.registrations.get(outcome.registration_id)
    links = registration_links(
        TEST_KEYS, "https://r.example.org", majlis.events.get("conf"), registration
    )
    return registration, {sid: url.rsplit("/", 1)[1] for sid, url in links.join.items()}


def _update(majlis, registration_id: str, **changes) -> None:
    store = majlis.registrations
    store.registrations[registration_id] = store.registrations[registration_id].model_copy(
        update=changes
    )


def _refusal(majlis, token: str) -> LinkRefused:
    with pytest.raises(LinkRefused) as refused:
        join(majlis, token)
    return refused.value


def test_a_click_leads_to_the_sessions_join_url_and_is_recorded(majlis, clock):
    registration, tokens = _registered(majlis)
    assert join(majlis, tokens["education"]) == "https://us06web.zoom.us/w/81234567890"
    first = majlis.registrations.get(registration.registration_id).clicks["education"]
    assert first == {"first": clock(), "last": clock()}
    clock.advance(minutes=3)
    join(majlis, tokens["education"])
    again = majlis.registrations.get(registration.registration_id).clicks["education"]
    assert again["first"] == first["first"]
    assert again["last"] == clock()
    assert majlis.registrations.get(registration.registration_id).clicks["family"] == {}


def test_the_personal_zoom_link_wins_when_zoom_gave_one(majlis):
    registration, tokens = _registered(majlis)
    personal = "https://us06web.zoom.us/w/81234567890?tk=personal"
    _update(
        majlis,
        registration.registration_id,
        zoom={"education": {"registrant_id": "abc", "join_url": personal}},
    )
    assert join(majlis, tokens["education"]) == personal
    assert join(majlis, tokens["family"]) == "https://us06web.zoom.us/w/81234567891"


def test_a_personal_link_off_zoom_s_hosts_is_not_followed(majlis):
    registration, tokens = _registered(majlis)
    _update(
        majlis,
        registration.registration_id,
        zoom={"education": {"registrant_id": "abc", "join_url": "https://evil.example/w/1"}},
    )
    assert join(majlis, tokens["education"]) == "https://us06web.zoom.us/w/81234567890"


@pytest.mark.parametrize(
    ("url", "allowed", "followed"),
    [
        ("https://zoom.us/w/1", "https://zoom.us", True),
        ("https://us06web.zoom.us/w/1?tk=x", "https://zoom.us,https://zoomgov.com", True),
        ("https://zoomgov.com/w/1", "https://zoom.us,https://zoomgov.com", True),
        ("https://ZOOM.US/w/1", "https://zoom.us", True),
        ("http://zoom.us/w/1", "https://zoom.us", False),
        ("https://zoom.us:8443/w/1", "https://zoom.us", False),
        ("https://evilzoom.us/w/1", "https://zoom.us", False),
        ("https://zoom.us.evil.example/w/1", "https://zoom.us", False),
        ("https://user@evil.example/w/1", "https://zoom.us", False),
        ("javascript:alert(1)", "https://zoom.us", False),
        ("https://[::1/w", "https://zoom.us", False),
        ("http://127.0.0.1:4100/w/1", "http://127.0.0.1:4100", True),
        ("http://127.0.0.1:4101/w/1", "http://127.0.0.1:4100", False),
        ("https://zoom.us/w/1", "", False),
    ],
)
def test_only_zoom_s_hosts_are_followed(url, allowed, followed):
    from chalicelib.domain.zoom import on_zoom

    assert on_zoom(url, allowed) is followed


def test_a_click_is_one_store_call(majlis):
    _, tokens = _registered(majlis)
    writes = majlis.registrations.writes
    reads = majlis.events.reads
    join(majlis, tokens["education"])
    assert majlis.registrations.writes == writes + 1
    assert majlis.events.reads == reads + 1  # the event (cached in a container) for its URL


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": Status.CANCELLED}, Refusal.CANCELLED),
        ({"status": Status.WAITLISTED}, Refusal.WAITLISTED),
        ({"link_version": 2}, Refusal.REVOKED),
        ({"sessions": ["family"]}, Refusal.REVOKED),
    ],
)
def test_refusals_say_why_in_the_registrants_language(majlis, changes, reason):
    registration, tokens = _registered(majlis, language="tr")
    _update(majlis, registration.registration_id, **changes)
    refused = _refusal(majlis, tokens["education"])
    assert refused.reason is reason
    assert refused.reason.status == 410
    assert refused.language == "tr"
    assert majlis.registrations.get(registration.registration_id).clicks["education"] == {}


def test_an_invalid_token_is_404_and_names_no_language(majlis):
    _, tokens = _registered(majlis)
    refused = _refusal(majlis, tokens["education"][:-3])
    assert (refused.reason, refused.reason.status, refused.language) == (Refusal.INVALID, 404, None)
    assert _refusal(majlis, "nonsense").reason is Refusal.INVALID


def test_a_token_for_a_registration_that_does_not_exist_is_404(majlis, clock):
    token = sign(
        TEST_KEYS, Link(Purpose.JOIN, "0" * 26, "education", 1, clock() + timedelta(days=1))
    )
    assert _refusal(majlis, token).reason is Refusal.INVALID


def test_an_expired_link_is_410(majlis, clock):
    _, tokens = _registered(majlis)
    clock.advance(days=30)
    refused = _refusal(majlis, tokens["education"])
    assert (refused.reason, refused.reason.status) == (Refusal.EXPIRED, 410)


def test_a_manage_token_does_not_open_a_join_link(majlis):
    registration, _ = _registered(majlis)
    links = registration_links(TEST_KEYS, "https://r", majlis.events.get("conf"), registration)
    assert _refusal(majlis, links.manage.rsplit("/", 1)[1]).reason is Refusal.INVALID


@pytest.mark.parametrize("reason", list(Refusal))
@pytest.mark.parametrize("language", ["ar", "en", "tr", "fr", "es", "ur", "ms"])
def test_every_refusal_has_a_translated_page_text(reason, language):
    from chalicelib import i18n

    heading, paragraphs = refusal_page_text(reason, i18n.translations(language).gettext)
    english, english_paragraphs = refusal_page_text(reason, i18n.translations("en").gettext)
    assert heading
    assert paragraphs
    if language != "en":
        assert heading != english
        assert paragraphs != english_paragraphs
