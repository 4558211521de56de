"""The embedded AWS's shortcuts through moto answer exactly what moto would.

Local mode's moto (``infra/local/embedded.py``) answers DynamoDB's item operations and
the stream's records with their results as JSON, without moto's walk over the output
shape, and sends to SQS without counting the queue's messages. Each test runs the
operations on moto in this process, and compares what a client reads from the quick
answer with what it reads from moto's own serialiser, answer by answer.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from moto import mock_aws
from moto.core.responses import ActionResult

from infra.local import embedded

REGION = "us-east-1"


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any, Any]]]:
    """Every quick answer beside moto's own, as a client parses each and its length in
    bytes (which the rehearsal weighs reads by): (operation, quick, moto's) — on a moto
    of this test's own."""
    embedded.install_quick_answers()
    quick = ActionResult.execute_result
    serialised = embedded.serialised_by_moto
    seen: list[tuple[str, Any, Any]] = []

    def both(self: ActionResult, context: Any) -> Any:
        answer = quick(self, context)
        operation = (context.service_model.service_name, context.operation_model.name)
        if operation in embedded.QUICK_ANSWERS and not isinstance(self.result, Exception):
            parser = create_parser(context.service_model.metadata["protocol"])
            shape = context.operation_model.output_shape

            def parsed(status: int, headers: dict[str, str], body: str) -> Any:
                response = {"status_code": status, "headers": headers, "body": body.encode()}
                return parser.parse(response, shape), len(body.encode())

            seen.append((operation[1], parsed(*answer), parsed(*serialised(self, context))))
        return answer

    monkeypatch.setattr(ActionResult, "execute_result", both)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield seen


EVERY_TYPE = {
    "pk": {"S": "REG#1"},
    "sk": {"S": "REG"},
    "name": {"S": "Zaynab عبد الله"},
    "seats": {"N": "3"},
    "ratio": {"N": "0.125"},
    "photo": {"B": b"\x00\xffbinary"},
    "tags": {"SS": ["a", "b"]},
    "codes": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"\x01", b"\x02"]},
    "clicks": {"M": {"s1": {"M": {"first": {"S": "2026-01-01T00:00:00Z"}}}, "s2": {"M": {}}}},
    "history": {"L": [{"S": "registered"}, {"N": "1"}, {"NULL": True}, {"BOOL": False}]},
    "confirmed": {"BOOL": True},
    "nothing": {"NULL": True},
    "gsi1pk": {"S": "EVENT#demo"},
    "gsi1sk": {"S": "0001"},
}


def _table(db: Any, stream: bool = False, name: str = "") -> str:
    """A new table of its own (the tests' moto may hold others', and their names)."""
    t = name or f"t-{uuid.uuid4().hex}"
    db.create_table(
        TableName=t,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        **(
            {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
            if stream
            else {}
        ),
    )
    return t


def _stream_records(db: Any, table: str) -> list[dict[str, Any]]:
    """The records of ``table``'s stream from its start, as a client reads them."""
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    arn = db.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def _assert_same(seen: list[tuple[str, Any, Any]]) -> set[str]:
    for operation, quick, moto in seen:
        assert quick == moto, operation
    return {operation for operation, _, _ in seen}


def test_item_operations_read_the_same_as_moto_serialises_them(compared):
    db = boto3.client("dynamodb", region_name=REGION)
    t = _table(db)
    db.put_item(TableName=t, Item=EVERY_TYPE)
    db.put_item(TableName=t, Item=EVERY_TYPE | {"sk": {"S": "OTHER"}}, ReturnValues="ALL_OLD")
    db.put_item(TableName=t, Item=EVERY_TYPE | {"seats": {"N": "4"}}, ReturnValues="ALL_OLD")
    for key in ({"pk": {"S": "REG#1"}, "sk": {"S": "REG"}}, {"pk": {"S": "no"}, "sk": {"S": "x"}}):
        db.get_item(TableName=t, Key=key)
    db.get_item(
        TableName=t,
        Key={"pk": {"S": "REG#1"}, "sk": {"S": "REG"}},
        ProjectionExpression="#n, clicks.s1",
        ExpressionAttributeNames={"#n": "name"},
        ReturnConsumedCapacity="TOTAL",
    )
    for returned in ("ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD", "NONE"):
        db.update_item(
            TableName=t,
            Key={"pk": {"S": "REG#1"}, "sk": {"S": "REG"}},
            UpdateExpression="SET clicks.#s.#last = :now ADD seats :one",
            ExpressionAttributeNames={"#s": "s2", "#last": "last"},
            ExpressionAttributeValues={":now": {"S": "2026-06-01T09:00:00Z"}, ":one": {"N": "1"}},
            ReturnValues=returned,
        )
    db.query(
        TableName=t,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :e",
        ExpressionAttributeValues={":e": {"S": "EVENT#demo"}},
        Limit=1,
        ReturnConsumedCapacity="INDEXES",
    )
    db.query(
        TableName=t,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "REG#1"}},
        Select="COUNT",
    )
    db.scan(
        TableName=t,
        FilterExpression="seats > :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )
    db.batch_get_item(
        RequestItems={
            t: {"Keys": [{"pk": {"S": "REG#1"}, "sk": {"S": sk}} for sk in ("REG", "OTHER")]}
        }
    )
    key = {"pk": {"S": "REG#1"}, "sk": {"S": "REG"}}
    db.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": key}}])
    db.delete_item(
        TableName=t, Key={"pk": {"S": "REG#1"}, "sk": {"S": "OTHER"}}, ReturnValues="ALL_OLD"
    )
    assert _assert_same(compared) == {
        "PutItem",
        "GetItem",
        "UpdateItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "TransactGetItems",
        "DeleteItem",
    }
    assert len(compared) == 17


def test_the_streams_records_read_the_same_as_moto_serialises_them(compared):
    db = boto3.client("dynamodb", region_name=REGION)
    t = _table(db, stream=True)
    db.put_item(TableName=t, Item=EVERY_TYPE)
    db.update_item(
        TableName=t,
        Key={"pk": {"S": "REG#1"}, "sk": {"S": "REG"}},
        UpdateExpression="REMOVE nothing",
    )
    db.delete_item(TableName=t, Key={"pk": {"S": "REG#1"}, "sk": {"S": "REG"}})
    records = _stream_records(db, t)
    assert [record["eventName"] for record in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[0]["dynamodb"]["ApproximateCreationDateTime"].tzinfo is not None
    assert "GetRecords" in _assert_same(compared)


def _moto_s_then_ours(
    monkeypatch: pytest.MonkeyPatch,
    moto_s: list[tuple[Any, str, Any]],
    run: Any,
    tables: list[str],
) -> list[Any]:
    """What ``run(db)`` gives with moto's own code in place of ours (``moto_s``: owner,
    name, moto's), then with ours, each on a moto of its own. Each run drops its
    ``tables`` (named alike in both, as answers name them): the worker's moto may be
    shared with an earlier test's."""
    ours = [(owner, name, getattr(owner, name)) for owner, name, _ in moto_s]
    seen = []
    for side in (moto_s, ours):
        for owner, name, value in side:
            monkeypatch.setattr(owner, name, value)
        with mock_aws():
            db = boto3.client("dynamodb", region_name=REGION)
            seen.append(run(db))
            for table in tables:
                db.delete_table(TableName=table)
    return seen


def _updates_and_their_records(db: Any, name: str) -> tuple[list[Any], list[Any]]:
    """Updates of an item of every type (nested maps, lists, sets, binary) with each
    kind of return value, a refused one and a transaction; their answers and stream
    records as a client reads them (less what differs by nature: ids and times)."""
    t = _table(db, stream=True, name=name)  # the same in both runs: answers name it
    key = {"pk": {"S": "REG#1"}, "sk": {"S": "REG"}}
    answers = [db.put_item(TableName=t, Item=EVERY_TYPE, ReturnValues="ALL_OLD")]
    for n, returned in enumerate(("ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD", "NONE")):
        answers.append(
            db.update_item(
                TableName=t,
                Key=key,
                UpdateExpression="SET clicks.s1.#last = :now, history[1] = :n "
                "ADD tags :tag, blobs :blob REMOVE clicks.s2",
                ExpressionAttributeNames={"#last": "last"},
                ExpressionAttributeValues={
                    ":now": {"S": f"2026-06-0{n + 1}T09:00:00Z"},
                    ":n": {"N": str(n)},
                    ":tag": {"SS": [f"t{n}"]},
                    ":blob": {"BS": [bytes([n + 7])]},
                },
                ReturnValues=returned,
            )
        )
    with pytest.raises(db.exceptions.ConditionalCheckFailedException) as refused:
        db.update_item(
            TableName=t,
            Key=key,
            UpdateExpression="SET seats = :n",
            ConditionExpression="seats > :n",
            ExpressionAttributeValues={":n": {"N": "9"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    answers.append(refused.value.response.get("Item"))
    db.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": t,
                    "Key": key,
                    "UpdateExpression": "SET photo = :b",
                    "ExpressionAttributeValues": {":b": {"B": b"\x07"}},
                }
            },
            {"Put": {"TableName": t, "Item": EVERY_TYPE | {"sk": {"S": "OTHER"}}}},
        ]
    )
    answers.append(db.get_item(TableName=t, Key=key, ConsistentRead=True))
    answers.append(db.delete_item(TableName=t, Key=key, ReturnValues="ALL_OLD"))
    for answer in answers:
        if isinstance(answer, dict):
            answer.pop("ResponseMetadata", None)
    records = _stream_records(db, t)
    for record in records:  # SizeBytes counts the digits of the record's time
        del record["eventID"], record["dynamodb"]["ApproximateCreationDateTime"]
        assert record["dynamodb"].pop("SizeBytes") > 100
    return answers, records


def test_an_update_reads_and_streams_the_same_without_moto_s_copies(monkeypatch):
    """install_quick_copies: the stream's old image a snapshot of the item's JSON, the
    handler's return values read from the item before its update, maps made JSON in one
    walk; every answer and stream record as with moto's own copies."""
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models.dynamo_type import DynamoType

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_quick_copies()
    assert dynamodb_responses.copy is not copy
    assert DynamoType.to_regular_json is embedded._to_regular_json
    name = f"copies-{uuid.uuid4().hex}"
    (moto_answers, moto_records), (answers, records) = _moto_s_then_ours(
        monkeypatch,
        [
            (DynamoType, "to_regular_json", embedded.moto_to_regular_json),
            (dynamodb_responses, "copy", copy),
            (DynamoType, "_majlis_quick", False),
        ],
        lambda db: _updates_and_their_records(db, name),
        [name],
    )
    assert len(records) == 9 and records[1]["dynamodb"]["OldImage"]["seats"] == {"N": "3"}
    # The old image is the item before its update, not after
    assert records[1]["dynamodb"]["OldImage"] != records[1]["dynamodb"]["NewImage"]
    assert answers[1]["Attributes"]["clicks"]["M"]["s1"]["M"]["last"] == {
        "S": "2026-06-01T09:00:00Z"
    }
    assert answers == moto_answers
    assert records == moto_records


def _queries(db: Any, name: str) -> list[Any]:
    """Queries of a table and its indexes, paged both ways, with ties on the index's keys;
    every page as a client reads it."""
    t = _table(db, name=name)
    db.update_table(
        TableName=t,
        AttributeDefinitions=[{"AttributeName": "gsi2pk", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "gsi2",
                    "KeySchema": [{"AttributeName": "gsi2pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    for n in (7, 3, 11, 1, 5, 9, 2):  # written out of order, in three partitions
        item = {
            "pk": {"S": f"EVENT#{n % 3}"},
            "sk": {"S": f"REG#{n:03}"},
            "gsi1pk": {"S": "EVENT#demo"},
            "gsi1sk": {"S": f"{n % 2}"},  # ties, broken by the table's keys
            "n": {"N": str(n)},
        }
        if n % 2:
            item["gsi2pk"] = {"S": "WAIT"}
        db.put_item(TableName=t, Item=item)
    hash_only = f"{name}-h"
    db.create_table(
        TableName=hash_only,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for key in ("b", "a", "c"):
        db.put_item(TableName=hash_only, Item={"pk": {"S": key}, "v": {"S": key * 2}})
    asked = [
        {
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "EVENT#1"}},
        },
        {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": {"S": "EVENT#2"}, ":s": {"S": "REG#0"}},
            "ScanIndexForward": False,
        },
        {
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":p": {"S": "EVENT#0"}, ":n": {"N": "4"}},
        },
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
        {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "EVENT#demo"}},
        },
        {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk = :s",
            "ExpressionAttributeValues": {":p": {"S": "EVENT#demo"}, ":s": {"S": "1"}},
            "ScanIndexForward": False,
        },
        {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "WAIT"}},
        },
    ]
    pages = []
    for query in asked:
        start: dict[str, Any] = {}
        while True:  # two at a time: every page boundary crossed
            page = db.query(TableName=t, Limit=2, **query, **start)
            page.pop("ResponseMetadata")
            pages.append(page)
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    for key in ("a", "z"):
        page = db.query(
            TableName=hash_only,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": key}},
        )
        page.pop("ResponseMetadata")
        pages.append(page)
    scanned = db.scan(TableName=t)  # not a query: moto's own order, as before
    scanned.pop("ResponseMetadata")
    return [*pages, scanned]


def test_a_query_reads_the_same_without_sorting_the_whole_table(monkeypatch):
    """install_quick_queries: a query of the table reads its partition alone, of an
    index every item unsorted; every page as moto's own gives it."""
    from moto.dynamodb.models.table import Table

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_quick_queries()
    name = f"queries-{uuid.uuid4().hex}"
    moto_pages, pages = _moto_s_then_ours(
        monkeypatch,
        [
            (Table, "query", Table.query.__wrapped__),
            (Table, "all_items", Table.all_items.__wrapped__),
        ],
        lambda db: _queries(db, name),
        [name, f"{name}-h"],
    )
    assert len(pages) > 14 and any("LastEvaluatedKey" in page for page in pages)
    assert pages == moto_pages


def _index_queries_between_writes(db: Any, name: str) -> list[Any]:
    """An index queried after each kind of write: a put, an update moving an item to
    another index value and back, one creating an item, a delete, a batch, a
    transaction that succeeds and one refused (rolled back), an index made later."""
    t = _table(db, name=name)

    def queried() -> list[Any]:
        found = []
        for value in ("EVENT#a", "EVENT#b"):
            page = db.query(
                TableName=t,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p",
                ExpressionAttributeValues={":p": {"S": value}},
            )
            found.append(page["Items"])
        return found

    def item(n: int, value: str) -> dict[str, Any]:
        return {
            "pk": {"S": f"P#{n % 2}"},
            "sk": {"S": f"R#{n}"},
            "gsi1pk": {"S": value},
            "gsi1sk": {"S": str(n)},
        }

    def key(n: int) -> dict[str, Any]:
        return {"pk": {"S": f"P#{n % 2}"}, "sk": {"S": f"R#{n}"}}

    def move(n: int, value: str) -> None:
        db.update_item(
            TableName=t,
            Key=key(n),
            UpdateExpression="SET gsi1pk = :v, gsi1sk = :s",
            ExpressionAttributeValues={":v": {"S": value}, ":s": {"S": str(n)}},
        )

    seen = [queried()]  # the buckets built from nothing
    for n in range(4):
        db.put_item(TableName=t, Item=item(n, "EVENT#a"))
    seen.append(queried())
    move(1, "EVENT#b")
    seen.append(queried())
    move(1, "EVENT#a")
    move(2, "EVENT#b")
    seen.append(queried())
    move(9, "EVENT#b")  # no such item: the update creates it
    db.update_item(TableName=t, Key=key(9), UpdateExpression="REMOVE gsi1pk")  # out of it
    move(9, "EVENT#b")  # and back
    db.put_item(TableName=t, Item=item(3, "EVENT#b"))  # a put over an item, moved
    db.delete_item(TableName=t, Key=key(0))
    seen.append(queried())
    db.update_item(TableName=t, Key=key(9), UpdateExpression="REMOVE gsi1pk")
    seen.append(queried())
    db.batch_write_item(
        RequestItems={
            t: [
                {"PutRequest": {"Item": item(5, "EVENT#b")}},
                {"DeleteRequest": {"Key": key(2)}},
            ]
        }
    )
    seen.append(queried())
    db.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": t, "Item": item(6, "EVENT#a")}},
            {
                "Update": {
                    "TableName": t,
                    "Key": key(5),
                    "UpdateExpression": "SET gsi1pk = :v",
                    "ExpressionAttributeValues": {":v": {"S": "EVENT#a"}},
                }
            },
        ]
    )
    seen.append(queried())
    with pytest.raises(ClientError):  # the second item's condition fails: all undone
        db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": t,
                        "Key": key(6),
                        "UpdateExpression": "SET gsi1pk = :v",
                        "ExpressionAttributeValues": {":v": {"S": "EVENT#b"}},
                    }
                },
                {"Delete": {"TableName": t, "Key": key(3)}},
                {
                    "Put": {
                        "TableName": t,
                        "Item": item(1, "EVENT#b"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    seen.append(queried())
    db.update_table(
        TableName=t,
        AttributeDefinitions=[{"AttributeName": "gsi2pk", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "gsi2",
                    "KeySchema": [{"AttributeName": "gsi2pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    db.put_item(TableName=t, Item={**item(7, "EVENT#a"), "gsi2pk": {"S": "WAIT"}})
    waiting = db.query(
        TableName=t,
        IndexName="gsi2",
        KeyConditionExpression="gsi2pk = :p",
        ExpressionAttributeValues={":p": {"S": "WAIT"}},
    )
    return [*seen, queried(), waiting["Items"]]


def test_an_index_query_reads_the_items_holding_its_value_kept_through_every_write(
    monkeypatch,
):
    """install_quick_queries: an index query reads the items that hold its hash key's
    value, kept through puts, updates, deletes, batches and transactions (a refused
    one too); the same answers as moto's reading every item."""
    from moto.dynamodb.models.table import Table

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_faithful_dynamodb()  # a refused transaction undone item by item
    embedded.install_quick_queries()
    name = f"index-{uuid.uuid4().hex}"
    theirs, ours = _moto_s_then_ours(
        monkeypatch,
        [
            (Table, "query", Table.query.__wrapped__),
            (Table, "all_items", Table.all_items.__wrapped__),
        ],
        lambda db: _index_queries_between_writes(db, name),
        [name],
    )
    assert sum(len(found) for found in ours[-2]) == 5 and len(ours[-1]) == 1
    assert ours == theirs


def test_errors_are_moto_s_own(compared):
    db = boto3.client("dynamodb", region_name=REGION)
    t = _table(db)
    with pytest.raises(db.exceptions.ConditionalCheckFailedException) as refused:
        db.update_item(
            TableName=t,
            Key={"pk": {"S": "REG#1"}, "sk": {"S": "REG"}},
            UpdateExpression="SET seats = :n",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert compared == []


def test_a_send_or_receive_does_not_count_the_queue_and_the_counts_stay_right(
    monkeypatch, time_machine
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_quick_queues()
    counted: list[str] = []
    from moto.sqs.models import Queue

    counting = Queue.approximate_number_of_messages.fget
    monkeypatch.setattr(
        Queue,
        "approximate_number_of_messages",
        property(lambda queue: counted.append(queue.name) or counting(queue)),
    )
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        name = f"q-{uuid.uuid4().hex}"
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        for n in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        assert counted == []
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
        assert len(received) == 2
        assert counted == []  # each message's retention checked without the counts
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert set(counted) == {name}  # counted for GetQueueAttributes, as before
        assert attributes["ApproximateNumberOfMessages"] == "3"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
        assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
        fifo = sqs.create_queue(
            QueueName=f"{name}.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        for _ in range(2):  # the same body twice: deduplicated by its content, as before
            sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g")
        attributes = sqs.get_queue_attributes(
            QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "1"
        # A message past the queue's retention period is not received, as before
        brief = sqs.create_queue(
            QueueName=f"{name}-brief", Attributes={"MessageRetentionPeriod": "60"}
        )["QueueUrl"]
        sqs.send_message(QueueUrl=brief, MessageBody="kept a minute")
        time_machine.move_to(time.time() + 61)
        assert "Messages" not in sqs.receive_message(QueueUrl=brief)


def test_receives_at_once_get_each_message_once(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_faithful_queues()
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex}")["QueueUrl"]
        for start in range(0, 300, 10):
            entries = [{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        received: list[int] = []

        def receive() -> None:
            client = boto3.client("sqs", region_name=REGION)
            while batch := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                "Messages"
            ):
                received.extend(int(message["Body"]) for message in batch)

        threads = [threading.Thread(target=receive) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(received) == list(range(300))  # none twice, none left


def test_an_update_expression_parsed_once_serves_every_update_alike(monkeypatch):
    """The kept syntax tree of an update expression is never changed by an update:
    the same text with other values, on other items, in a transaction too, updates
    each as its own values say; an invalid expression is refused every time."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_quick_parsing()
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    with mock_aws():
        db = boto3.client("dynamodb", region_name=REGION)
        t = _table(db)
        expression = "SET #n = :name, hits = if_not_exists(hits, :zero) + :one REMOVE gone"
        for n in range(3):
            db.put_item(
                TableName=t, Item={"pk": {"S": f"k{n}"}, "sk": {"S": "A"}, "gone": {"S": "x"}}
            )
        for n in range(3):
            db.update_item(
                TableName=t,
                Key={"pk": {"S": f"k{n}"}, "sk": {"S": "A"}},
                UpdateExpression=expression,
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":name": {"S": f"name {n}"},
                    ":zero": {"N": "0"},
                    ":one": {"N": str(n + 1)},
                },
            )
        db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": t,
                        "Key": {"pk": {"S": "k0"}, "sk": {"S": "A"}},
                        "UpdateExpression": expression,
                        "ExpressionAttributeNames": {"#n": "name"},
                        "ExpressionAttributeValues": {
                            ":name": {"S": "again"},
                            ":zero": {"N": "0"},
                            ":one": {"N": "10"},
                        },
                    }
                }
            ]
        )
        items = {
            item["pk"]["S"]: item for item in db.scan(TableName=t, ConsistentRead=True)["Items"]
        }
        assert items["k0"] == {
            "pk": {"S": "k0"},
            "sk": {"S": "A"},
            "name": {"S": "again"},
            "hits": {"N": "11"},
        }
        assert items["k1"] == {
            "pk": {"S": "k1"},
            "sk": {"S": "A"},
            "name": {"S": "name 1"},
            "hits": {"N": "2"},
        }
        assert items["k2"] == {
            "pk": {"S": "k2"},
            "sk": {"S": "A"},
            "name": {"S": "name 2"},
            "hits": {"N": "3"},
        }
        assert UpdateExpressionParser.make.cache_info().hits >= 3  # parsed once, kept
        for _ in range(2):
            with pytest.raises(ClientError) as refused:
                db.update_item(
                    TableName=t,
                    Key={"pk": {"S": "k0"}, "sk": {"S": "A"}},
                    UpdateExpression="SET = broken",
                )
            assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_a_condition_expression_lexed_once_judges_each_request_by_its_own_values(monkeypatch):
    """The kept tokens of a condition expression take each request's own names and
    values: the same text lets one write through and refuses the next; an invalid
    expression is refused every time."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_quick_parsing()
    from moto.dynamodb.comparisons import ConditionExpressionParser

    condition = "attribute_not_exists(#c) OR (size(#c) < :most AND NOT contains(#c, :one))"
    with mock_aws():
        db = boto3.client("dynamodb", region_name=REGION)
        t = _table(db)
        db.put_item(TableName=t, Item={"pk": {"S": "k"}, "sk": {"S": "A"}})

        def click(session: str, most: int) -> bool:
            try:
                db.update_item(
                    TableName=t,
                    Key={"pk": {"S": "k"}, "sk": {"S": "A"}},
                    UpdateExpression="ADD #c :set",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#c": "clicked"},
                    ExpressionAttributeValues={
                        ":set": {"SS": [session]},
                        ":one": {"S": session},
                        ":most": {"N": str(most)},
                    },
                )
            except db.exceptions.ConditionalCheckFailedException:
                return False
            return True

        assert click("a", 5)  # no set yet
        assert click("b", 5)  # 1 < 5 and not yet in it
        assert not click("b", 5)  # in it already
        assert not click("c", 2)  # 2 < 2 is false
        assert click("c", 3)
        item = db.get_item(TableName=t, Key={"pk": {"S": "k"}, "sk": {"S": "A"}})["Item"]
        assert sorted(item["clicked"]["SS"]) == ["a", "b", "c"]
        lexed = ConditionExpressionParser._lex_condition_expression
        first, again = (lexed(ConditionExpressionParser(condition, None, None)) for _ in "12")
        assert first == again and first[0] is not again[0]  # alike, and each its own
        for _ in range(2):  # what moto's lexer raises, every time
            with pytest.raises(ValueError, match="Cannot parse condition starting at:~~"):
                lexed(ConditionExpressionParser("x ~~ :v", None, None))
