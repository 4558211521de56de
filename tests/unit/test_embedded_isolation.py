"""Local mode's DynamoDB never shows a change that is not whole.

moto applies a transaction item by item, in place, and undoes it when a condition
fails. Real DynamoDB never lets a read see the items in between; the embedded AWS
(``infra.local.embedded.install_faithful_dynamodb``) answers one DynamoDB request at a
time, so a read comes before or after a write, never in its middle. Here, reads race a
transaction that always fails (a promotion onto a full event, as the waiting list
tries it) and writes of new items.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local import embedded
from infra.local.pump_process import PUMP_APP_ID

TABLE = f"isolation-{uuid.uuid4().hex}"  # the session's moto may be running already
PERSON = {"pk": {"S": "REG#a"}, "sk": {"S": "REG"}}
SEATS = {"pk": {"S": "EVENT#e"}, "sk": {"S": "SEATS"}}
ROUNDS = 100


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_faithful_dynamodb()
    switch = sys.getswitchinterval()
    # Threads take turns every microsecond (not every 5 ms): a read can land anywhere.
    sys.setswitchinterval(1e-6)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.put_item(TableName=TABLE, Item={**PERSON, "status": {"S": "waitlisted"}})
        client.put_item(TableName=TABLE, Item={**SEATS, "registered": {"N": "20"}})
        try:
            yield client
        finally:
            sys.setswitchinterval(switch)
            client.delete_table(TableName=TABLE)


def _promote(db: Any) -> None:
    """The waiting list's promotion: the person and a seat together, with no seat left."""
    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": PERSON,
                        "UpdateExpression": "SET #s = :registered",
                        "ConditionExpression": "#s = :waitlisted",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":registered": {"S": "registered"},
                            ":waitlisted": {"S": "waitlisted"},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": SEATS,
                        "UpdateExpression": "ADD registered :one",
                        "ConditionExpression": "registered < :cap",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "20"}},
                    }
                },
            ]
        )


def _race(writer: Any, reader: Any) -> list[Any]:
    """``reader`` over and over while ``writer`` runs ROUNDS times; what it returned."""
    done = threading.Event()
    seen: list[Any] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not done.is_set():
                seen.append(reader())
        except BaseException as error:  # noqa: BLE001 - handed to the test
            failures.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for n in range(ROUNDS):
            writer(n)
    finally:
        done.set()
        thread.join()
    assert not failures, failures
    assert seen  # the reader did read while the writer wrote
    return seen


def test_no_read_sees_a_transaction_that_failed(db):
    def status() -> set[str]:
        got = db.get_item(TableName=TABLE, Key=PERSON, ConsistentRead=True)["Item"]
        scanned = db.scan(TableName=TABLE)["Items"]
        return {got["status"]["S"]} | {i["status"]["S"] for i in scanned if "status" in i}

    seen = _race(lambda n: _promote(db), status)
    assert set().union(*seen) == {"waitlisted"}
    stream = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = stream.list_streams(TableName=TABLE)["Streams"][0]["StreamArn"]
    shard = stream.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = stream.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = stream.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT"]  # the two puts alone


def test_a_scan_while_items_are_added_answers(db):
    def add(n: int) -> None:
        db.put_item(TableName=TABLE, Item={"pk": {"S": f"REG#{n}"}, "sk": {"S": "REG"}})

    counts = _race(add, lambda: len(db.scan(TableName=TABLE)["Items"]))
    assert counts == sorted(counts)  # each scan sees whole writes, in their order
    assert len(db.scan(TableName=TABLE)["Items"]) == ROUNDS + 2


def _waiter(turns: Any, first: bool, name: str, order: list[str]) -> threading.Thread:
    def take() -> None:
        with turns.turn(first):
            order.append(name)

    thread = threading.Thread(target=take)
    thread.start()
    return thread


def _until_waiting(turns: Any, count: int) -> None:
    for _ in range(1000):
        with turns._lock:
            if sum(map(len, turns._waiting)) == count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"never {count} waiting")


def test_the_event_pump_s_requests_wait_behind_everyone_else_s():
    """One request at a time, the API's before the pump's, each kind in order of
    arrival; a holder may take the turn again in its own thread (as an RLock)."""
    turns = embedded._PeopleFirst()
    order: list[str] = []
    threads = []
    with turns.turn(first=True), turns.turn(first=False):  # again, in the same thread
        for name, first in [("pump 1", False), ("api 1", True), ("pump 2", False), ("api 2", True)]:
            threads.append(_waiter(turns, first, name, order))
            _until_waiting(turns, len(threads))
        assert order == []  # nobody while it is held
    for thread in threads:
        thread.join(timeout=10)
    assert order == ["api 1", "api 2", "pump 1", "pump 2"]
    with turns.turn(first=False):  # free: anyone takes it at once
        order.append("pump 3")
    assert order[-1] == "pump 3"


def test_the_pump_is_known_by_its_user_agent():
    """What tells the pump's requests apart: its clients' app id in the User-Agent."""
    order: list[str] = []

    class Handler:
        def __init__(self, agent: str) -> None:
            self.headers = {"User-Agent": agent}

        def call_action(self) -> None:
            order.append(self.headers["User-Agent"])

    answer = embedded._one_at_a_time(Handler.call_action)
    pump = f"Boto3/1.43 md/Botocore#1.43 os/linux lang/python#3.11 app/{PUMP_APP_ID}"
    api = "Boto3/1.43 md/Botocore#1.43 os/linux lang/python#3.11"
    turns = embedded._dynamodb_turns
    threads = []
    with turns.turn():
        for agent in (pump, api):
            threads.append(threading.Thread(target=answer, args=(Handler(agent),)))
            threads[-1].start()
            _until_waiting(turns, len(threads))
    for thread in threads:
        thread.join(timeout=10)
    assert order == [api, pump]
