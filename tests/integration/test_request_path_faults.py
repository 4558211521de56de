"""DynamoDB refusing the request path's one transaction (moto, faults injected into the
client): a conflict is retried to a success, throttling past the retries is a clean
503 with Retry-After, and never is a registration half written."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamo.schema import from_attributes, seats_key, to_attributes
from tests.builders import person


def _failing(code: str, times: int):
    """A before-call hook that makes the next ``times`` TransactWriteItems fail."""
    left = [times]

    def refuse(**_: object) -> None:
        if left[0] <= 0:
            return
        left[0] -= 1
        error: dict = {"Error": {"Code": code, "Message": "injected"}}
        if code == "TransactionCanceledException":
            error["CancellationReasons"] = [
                {"Code": "TransactionConflict"},
                {"Code": "None"},
                {"Code": "None"},
            ]
        raise ClientError(error, "TransactWriteItems")

    return refuse


@pytest.fixture
def inject(aws):
    events = client("dynamodb").meta.events
    hooks = []

    def add(code: str, times: int) -> object:
        hook = _failing(code, times)
        events.register("before-call.dynamodb.TransactWriteItems", hook)
        hooks.append(hook)
        return hook

    yield add
    for hook in hooks:
        events.unregister("before-call.dynamodb.TransactWriteItems", hook)


def _stored(aws) -> list[dict]:
    scan = boto3.client("dynamodb").get_paginator("scan")
    return [
        from_attributes(item)
        for page in scan.paginate(TableName=aws.settings.table_name, ConsistentRead=True)
        for item in page["Items"]
        # registrations and their per-event email keys
        if item["pk"]["S"].startswith("REG#") or "#EMAIL#" in item["pk"]["S"]
    ]


def _seats(aws) -> dict:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.settings.table_name, Key=to_attributes(seats_key("conf")), ConsistentRead=True
    )["Item"]
    return from_attributes(item)


def _post(api, n: int):
    return api.http.post(
        "/events/conf/registrations",
        headers={"Content-Type": "application/json"},
        body=json.dumps(person(n)),
    )


def test_a_transaction_conflict_is_retried_to_one_registration(api, aws, inject):
    inject("TransactionCanceledException", 2)
    response = _post(api, 1)
    assert response.status_code == 201, response.body
    registrations = [i for i in _stored(aws) if i.get("kind") == "registration"]
    assert len(registrations) == 1
    assert _seats(aws)["registered"] == 1


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttling_is_a_clean_503_and_nothing_is_written(api, aws, inject, code):
    inject(code, 1000)
    response = _post(api, 1)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert _stored(aws) == []
    assert _seats(aws)["registered"] == 0


def test_conflicts_that_do_not_end_are_a_503_and_nothing_is_written(api, aws, inject):
    hook = inject("TransactionCanceledException", 1000)
    response = _post(api, 1)
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert _stored(aws) == []
    assert _seats(aws)["registered"] == 0
    # When DynamoDB is itself again, the same person's retry registers them, once.
    client("dynamodb").meta.events.unregister("before-call.dynamodb.TransactWriteItems", hook)
    assert _post(api, 1).status_code == 201
    assert len([i for i in _stored(aws) if i.get("kind") == "registration"]) == 1
    assert _seats(aws)["registered"] == 1
