"""DELETE /events/{id}/registrations/{rid} on moto: one transaction, nothing personal left."""

from __future__ import annotations

import boto3

from chalicelib import auth
from chalicelib.adapters.dynamo.schema import (
    from_attributes,
    registration_key,
    seats_key,
    to_attributes,
)
from chalicelib.usecases.registrations import register
from tests.builders import person


def _item(aws, key: dict) -> dict | None:
    found = (
        boto3.client("dynamodb")
        .get_item(TableName=aws.settings.table_name, Key=to_attributes(key), ConsistentRead=True)
        .get("Item")
    )
    return from_attributes(found) if found else None


def _headers(aws, role: str) -> dict[str, str]:
    token = auth.mint(aws.tokens, ["conf"], [role], f"erasure-{role}", aws.clock())
    return {"Authorization": f"Bearer {token}"}


def test_erasure_leaves_counts_and_an_audit_record_only(api, aws):
    someone = register(aws, "conf", person(1, first_name="Ayesha", last_name="Khan"), form=False)
    path = f"/events/conf/registrations/{someone.registration_id}"
    admin = _headers(aws, "admin")

    assert api.http.delete(path, headers=_headers(aws, "read")).status_code == 403
    assert api.http.delete(path, headers=admin).status_code == 204
    assert api.http.delete(path, headers=admin).status_code == 204  # again: nothing more

    stored = _item(aws, registration_key(someone.registration_id))
    assert stored is not None and stored["status"] == "cancelled" and stored["erased_at"]
    text = str(stored)
    assert "person1@example.org" not in text and "Ayesha" not in text and "Khan" not in text
    seats = _item(aws, seats_key("conf"))
    assert (seats["registered"], seats["cancelled"]) == (0, 1)
    # The address may register again: its key went with the data.
    assert register(aws, "conf", person(1), form=False).registration_id
    audit = boto3.client("dynamodb").query(
        TableName=aws.settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "EVENT#conf#AUDIT"}},
    )["Items"]
    assert len(audit) == 1
    record = from_attributes(audit[0])
    assert record["action"] == "erased" and record["registration_id"] == someone.registration_id
    assert "Ayesha" not in str(record) and "person1@" not in str(record)

    gone = api.http.get(path, headers=_headers(aws, "read"))
    assert gone.status_code == 410
    assert gone.headers["Content-Type"] == "application/problem+json"


def test_erasing_what_does_not_exist_is_a_404(api, aws):
    admin = _headers(aws, "admin")
    missing = api.http.delete(f"/events/conf/registrations/{'0' * 26}", headers=admin)
    assert missing.status_code == 404
    assert api.http.delete("/events/conf/registrations/not-an-id", headers=admin).status_code == 404
    assert api.http.delete(f"/events/conf/registrations/{'0' * 26}").status_code == 401
