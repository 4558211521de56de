"""Double opt-in on moto: what a pending registration stores (no seat, the TTL, its
place among those to expire), its confirm link's GET and POST through the routes, and
the expiry that forgets it with its email key."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters.dynamo import schema
from chalicelib.domain.registrations import Status
from chalicelib.signed_links import registration_links
from chalicelib.usecases import optin
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from tests.builders import event_body, person
from tests.integration.test_selfservice_routes import post_form, table_items

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def _pending(aws, n: int = 1, **form) -> str:
    put_event(aws, "conf", event_body(double_opt_in=True, opt_in_hours=2, capacity=1))
    register(aws, "conf", person(n, **form), form=False)
    email_key = person(n, **form)["email"].lower()
    items = table_items(aws)
    [key] = [k for k in items if k[0] == f"EVENT#conf#EMAIL#{email_key}"]
    return items[key]["registration_id"]["S"]


def _confirm_path(aws, registration_id: str) -> str:
    registration = aws.registrations.get(registration_id, consistent=True)
    links = registration_links(
        aws.keys.keys(), "https://r.example.org", aws.events.get("conf"), registration
    )
    return "/confirm/" + links.confirm.rsplit("/", 1)[1]


def test_a_pending_registration_holds_no_seat_and_carries_its_expiry(aws, clock):
    registration_id = _pending(aws)
    items = table_items(aws)
    stored = items[(f"REG#{registration_id}", "REG")]
    expires = int((clock() + timedelta(hours=2)).timestamp())
    assert stored["status"] == {"S": "pending"}
    assert stored[schema.TTL] == {"N": str(expires)}
    assert stored["gsi3pk"] == {"S": schema.PENDING_LIST}
    email = items[("EVENT#conf#EMAIL#person1@example.org", "EMAIL")]
    assert email[schema.TTL] == {"N": str(expires)}
    seats = items[("EVENT#conf", "SEATS")]
    assert (seats["registered"], seats["waitlisted"]) == ({"N": "0"}, {"N": "0"})


def test_the_link_s_get_changes_nothing_and_its_post_confirms(api, aws):
    registration_id = _pending(aws, language="ar")
    path = _confirm_path(aws, registration_id)
    before = table_items(aws)
    page = api.http.get(path)
    assert page.status_code == 200
    assert 'dir="rtl"' in page.body.decode()
    assert (
        f'action="https://r.example.org{path}"' in page.body.decode() or path in page.body.decode()
    )
    assert table_items(aws) == before  # a mail scanner's GET: nothing
    refused = post_form(api, path, [], {"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert table_items(aws) == before
    done = post_form(api, path, [], SAME_SITE)
    assert done.status_code == 200
    stored = aws.registrations.get(registration_id, consistent=True)
    assert stored.status is Status.REGISTERED and stored.expires_at is None
    items = table_items(aws)
    assert schema.TTL not in items[(f"REG#{registration_id}", "REG")]
    assert "gsi3pk" not in items[(f"REG#{registration_id}", "REG")]
    assert schema.TTL not in items[("EVENT#conf#EMAIL#person1@example.org", "EMAIL")]
    assert items[("EVENT#conf", "SEATS")]["registered"] == {"N": "1"}
    assert post_form(api, path, [], SAME_SITE).status_code == 200  # again: as it is


def test_the_next_confirmation_of_a_full_event_joins_the_waiting_list(aws):
    first = _pending(aws, 1)
    second = _pending(aws, 2)
    for registration_id in (first, second):
        token = _confirm_path(aws, registration_id).rsplit("/", 1)[1]
        optin.confirm(aws, token)
    second_stored = table_items(aws)[(f"REG#{second}", "REG")]
    assert second_stored["status"] == {"S": "waitlisted"}
    assert second_stored["gsi3pk"] == {"S": schema.waiting_list("conf")}  # in line now
    assert schema.TTL not in second_stored


def test_expiry_forgets_the_person_and_frees_the_address(api, aws, clock):
    registration_id = _pending(aws)
    kept = _pending(aws, 2)
    optin.confirm(aws, _confirm_path(aws, kept).rsplit("/", 1)[1])
    path = _confirm_path(aws, registration_id)
    clock.advance(hours=2, minutes=1)
    assert optin.expire(aws) == 1
    items = table_items(aws)
    assert (f"REG#{registration_id}", "REG") not in items
    assert ("EVENT#conf#EMAIL#person1@example.org", "EMAIL") not in items
    assert (f"REG#{kept}", "REG") in items
    assert api.http.get(path).status_code == 410  # the link says it has expired
    assert optin.expire(aws) == 0


def test_confirmations_from_one_address_are_limited(api, aws, clock):
    aws.settings = aws.settings.model_copy(update={"confirms_per_minute": 2})
    clock.now = clock.now.replace(second=10)
    paths = [_confirm_path(aws, _pending(aws, n)) for n in range(3)]
    assert [post_form(api, p, [], SAME_SITE).status_code for p in paths[:2]] == [200, 200]
    refused = post_form(api, paths[2], [], SAME_SITE)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "50"
    assert "text/html" in refused.headers["Content-Type"]
    assert aws.registrations.get(_registration_of(aws, 2), consistent=True).status is Status.PENDING


def _registration_of(aws, n: int) -> str:
    items = table_items(aws)
    return items[(f"EVENT#conf#EMAIL#person{n}@example.org", "EMAIL")]["registration_id"]["S"]


def test_the_waiting_list_keeps_the_order_of_confirmation(aws, clock):
    first = _pending(aws, 1)
    early = _pending(aws, 2)  # registered before late, confirms after
    late = _pending(aws, 3)
    for registration_id in (first, late, early):
        clock.advance(minutes=1)
        optin.confirm(aws, _confirm_path(aws, registration_id).rsplit("/", 1)[1])
    assert aws.registrations.get(first, consistent=True).status is Status.REGISTERED
    aws.registrations.cancel(aws.registrations.get(first, consistent=True), clock())
    promoted = aws.registrations.promote_next("conf", 1, clock())
    assert promoted is not None and promoted.registration_id == late


def test_a_cancelled_pending_registration_loses_its_expiry(aws, clock):
    registration_id = _pending(aws)
    aws.registrations.cancel(aws.registrations.get(registration_id, consistent=True), clock())
    stored = table_items(aws)[(f"REG#{registration_id}", "REG")]
    assert stored["status"] == {"S": "cancelled"}
    assert schema.TTL not in stored and "gsi3pk" not in stored
