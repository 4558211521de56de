"""GET /join/{token} through the API on moto: redirect, headers, pages, one call a click."""

from __future__ import annotations

import json

import pytest

from chalicelib import auth
from chalicelib.adapters.aws import client
from chalicelib.signed_links import registration_links
from chalicelib.usecases.registrations import register
from tests.builders import person


@pytest.fixture
def tokens(aws):
    outcome = register(aws, "conf", person(1, language="ur"), form=False)
    registration = aws.registrations.get(outcome.registration_id)
    links = registration_links(
        aws.keys.keys(), "https://r.example.org", aws.events.get("conf"), registration
    )
    return outcome.registration_id, {s: u.rsplit("/", 1)[1] for s, u in links.join.items()}


def test_a_click_redirects_to_zoom_without_leaking_the_link(api, tokens):
    _, by_session = tokens
    response = api.http.get(f"/join/{by_session['education']}")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://us06web.zoom.us/w/81234567890"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_warm_click_is_one_dynamodb_call(api, tokens):
    _, by_session = tokens
    api.http.get(f"/join/{by_session['education']}")  # keys and event now cached
    calls: list[str] = []

    def count(model, **_):
        calls.append(model.name)

    for service in ("dynamodb", "secretsmanager"):
        client(service).meta.events.register("before-call", count)
    try:
        assert api.http.get(f"/join/{by_session['family']}").status_code == 302
    finally:
        for service in ("dynamodb", "secretsmanager"):
            client(service).meta.events.unregister("before-call", count)
    assert calls == ["UpdateItem"]


def test_the_click_is_recorded_for_the_organizer(api, aws, tokens):
    registration_id, by_session = tokens
    api.http.get(f"/join/{by_session['youth']}")
    clicks = aws.registrations.get(registration_id).organizer_view()["clicks"]
    assert set(clicks) == {"youth"}
    assert clicks["youth"]["first"] == clicks["youth"]["last"]


def test_an_invalid_link_is_a_404_page_in_the_browsers_language(api, tokens):
    _, by_session = tokens
    response = api.http.get(
        f"/join/{by_session['education'][:-2]}", headers={"Accept-Language": "fr-FR,fr;q=0.9"}
    )
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.body.decode()
    assert '<html lang="fr" dir="ltr">' in page
    from chalicelib import i18n

    assert i18n.translations("fr").gettext("This link does not work") in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_cancelled_registration_gets_a_410_page_in_its_language(api, aws, tokens):
    from chalicelib.adapters.dynamo.schema import registration_key, to_attributes

    registration_id, by_session = tokens
    client("dynamodb").update_item(
        TableName=aws.settings.table_name,
        Key=to_attributes(registration_key(registration_id)),
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "cancelled"}},
    )
    response = api.http.get(f"/join/{by_session['education']}")
    assert response.status_code == 410
    page = response.body.decode()
    assert '<html lang="ur" dir="rtl">' in page
    from chalicelib import i18n

    assert i18n.translations("ur").gettext("This registration has been cancelled.") in page


def test_pages_allow_only_their_own_stylesheet_and_no_inline_code(api, tokens):
    import re

    response = api.http.get("/join/nonsense")
    page = response.body.decode()
    policy = response.headers["Content-Security-Policy"]
    assert "style-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script" not in page
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    (stylesheet,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    css = api.http.get(stylesheet.removeprefix("http://127.0.0.1:8000"))
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")


def test_join_pages_never_echo_the_token(api):
    response = api.http.get("/join/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert "<script>" not in response.body.decode()
    assert response.headers["Content-Type"].startswith("text/html")


def _from(api, address: str) -> None:
    api.http._local_gateway.event_converter.LOCAL_SOURCE_IP = address


def test_a_link_opened_from_many_networks_is_flagged_shared(api, aws, tokens):
    from chalicelib.domain.networks import MOST_NETWORKS
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body

    put_event(aws, "conf", event_body(shared_link_networks=2))
    registration_id, by_session = tokens
    for n, address in enumerate(["192.0.2.10", "192.0.2.99", "198.51.100.1"]):
        _from(api, address)
        assert api.http.get(f"/join/{by_session['education']}").status_code == 302
        kept = aws.registrations.get(registration_id, consistent=True).networks
        assert len(kept) == [1, 1, 2][n]  # two hosts of one /24 are one network
    assert aws.registrations.get(registration_id, consistent=True).link_shared is False
    _from(api, "2001:db8:5::1")
    api.http.get(f"/join/{by_session['family']}")  # any session's link: the person's links
    assert aws.registrations.get(registration_id, consistent=True).link_shared is True
    # Bounded: past MOST_NETWORKS a click is recorded all the same, its network not kept.
    for n in range(MOST_NETWORKS + 2):
        _from(api, f"10.{n}.0.1")
        assert api.http.get(f"/join/{by_session['youth']}").status_code == 302
    found = aws.registrations.get(registration_id, consistent=True)
    assert len(found.networks) == MOST_NETWORKS
    assert found.clicks["youth"]["last"]
    token = auth.mint(aws.tokens, events=["conf"], roles=["read"], label="t", now=aws.clock())
    listed = api.http.get(
        f"/events/conf/registrations/{registration_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert json.loads(listed.body)["link_shared"] is True
