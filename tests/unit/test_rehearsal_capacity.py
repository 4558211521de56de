"""The rehearsal's DynamoDB write units: item sizes as DynamoDB counts them, and each
kind of write, measured on moto as it applies it, against units computed by hand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import embedded
from infra.rehearsal import capacity
from infra.rehearsal.capacity import Index, WriteMeter, WriteUnits, item_size, write_units

KB = 1024


def test_sizes_are_names_and_values_with_the_guide_s_overheads() -> None:
    assert item_size({"name": {"S": "Zaynab"}}) == 4 + 6
    assert item_size({"city": {"S": "عمان"}}) == 4 + 8  # UTF-8 bytes: 2 each
    assert item_size({"n": {"N": "12345"}}) == 1 + 3 + 1  # 5 digits: 3 bytes, and 1
    assert item_size({"n": {"N": "-0.00120"}}) == 1 + 1 + 1  # zeroes trimmed: "12"
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 3 + 3
    assert item_size({"photo": {"B": b"\x00\xff\x10"}}) == 5 + 3
    assert item_size({"tags": {"SS": ["ab", "c"]}}) == 4 + 3
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size(None) == 0


INDEXES = (
    Index("gsi1", ("gsi1pk", "gsi1sk"), ("pk", "sk"), "ALL"),
    Index("gsi2", ("gsi2pk",), ("pk", "sk"), "KEYS_ONLY"),
)


def _item(size: int, **more: str) -> dict[str, Any]:
    """An item of ``size`` bytes (keys included) with ``more`` string attributes."""
    item = {"pk": {"S": "REG#1"}, "sk": {"S": "R"}} | {k: {"S": v} for k, v in more.items()}
    item["pad"] = {"S": "x" * (size - item_size(item) - 3)}
    assert item_size(item) == size
    return item


def test_an_update_outside_every_index_is_billed_on_the_larger_item() -> None:
    before, after = _item(900), _item(2100)
    assert write_units(INDEXES, before, after) == WriteUnits(3, 0)
    assert write_units(INDEXES, after, before) == WriteUnits(3, 0)
    assert write_units(INDEXES, before, after, transactional=True) == WriteUnits(6, 0)


def test_an_index_is_written_as_the_item_comes_in_changes_there_and_goes() -> None:
    outside = _item(1500)
    inside = _item(1500, gsi1pk="EVENT#e", gsi1sk="0001")
    # comes into gsi1 (projected whole: 2 KB), not into gsi2
    assert write_units(INDEXES, outside, inside) == WriteUnits(2, 2)
    # a projected attribute changes: one write of the entry
    changed = inside | {"status": {"S": "x"}}
    assert write_units(INDEXES, inside, changed) == WriteUnits(2, 2)
    # the index key changes: the old entry deleted, the new one put
    moved = inside | {"gsi1sk": {"S": "0002"}}
    assert write_units(INDEXES, inside, moved) == WriteUnits(2, 4)
    # into gsi2, which holds the keys alone (tiny), and gsi1's entry changes with it
    keyed = inside | {"gsi2pk": {"S": "WAIT#e"}}
    assert write_units(INDEXES, inside, keyed) == WriteUnits(2, 2 + 1)
    # nothing gsi2 projects changes: gsi2 is not written
    assert write_units(INDEXES, keyed, keyed | {"status": {"S": "y"}}) == WriteUnits(2, 2)
    # deleted: out of both
    assert write_units(INDEXES, keyed, None) == WriteUnits(2, 2 + 1)
    # the same item put again over itself: the table only
    assert write_units(INDEXES, keyed, keyed) == WriteUnits(2, 0)


# -- on moto, as the rehearsal's server applies writes ------------------------------


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    embedded.install_faithful_dynamodb()
    capacity.install()
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def _table(db: Any) -> str:
    name = f"t-{uuid.uuid4().hex}"
    attributes = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk")
    db.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi2",
                "KeySchema": [{"AttributeName": "gsi2pk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


KEY = {"pk": {"S": "REG#1"}, "sk": {"S": "R"}}


def test_each_write_on_moto_is_billed_to_its_caller_and_table(db: Any) -> None:
    t = _table(db)
    meter = WriteMeter()
    db.put_item(TableName=t, Item=_item(500))  # outside measuring: not counted
    assert meter.units == {}
    with meter.measuring("MailWorker"):
        # an update that grows the item to 2.5 KB and puts it in gsi1
        db.update_item(
            TableName=t,
            Key=KEY,
            UpdateExpression="SET gsi1pk = :p, gsi1sk = :s, zoom = :z",
            ExpressionAttributeValues={
                ":p": {"S": "EVENT#e"},
                ":s": {"S": "0001"},
                ":z": {"S": "z" * 2000},
            },
        )
        size = item_size(db.get_item(TableName=t, Key=KEY)["Item"])
        assert 2 * KB < size <= 3 * KB
    assert meter.units == {("MailWorker", t): WriteUnits(3, 3)}
    with meter.measuring("ApiHandler"):
        # refused: billed on the item as it is, no index written
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            db.put_item(
                TableName=t, Item=_item(100), ConditionExpression="attribute_not_exists(pk)"
            )
        # deleted: out of the table and gsi1
        db.delete_item(TableName=t, Key=KEY)
    assert meter.units[("ApiHandler", t)] == WriteUnits(3 + 3, 3)


def test_a_transaction_is_billed_twice_and_a_cancelled_one_once_for_what_stood(db: Any) -> None:
    t = _table(db)
    meter = WriteMeter()
    other = {"pk": {"S": "REG#2"}, "sk": {"S": "R"}}
    with meter.measuring("ApiHandler"):
        db.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": t, "Item": _item(1500)}},
                {"Put": {"TableName": t, "Item": other | {"gsi2pk": {"S": "WAIT#e"}}}},
            ]
        )
    # 2 x 2 KB and 2 x 1 KB; gsi2's entry of the second (1 KB), written once
    assert meter.units == {("ApiHandler", t): WriteUnits(4 + 2, 1)}
    meter = WriteMeter()
    with meter.measuring("ApiHandler"), pytest.raises(ClientError, match="TransactionCanceled"):
        db.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": t, "Item": _item(3000)}},
                {
                    "Delete": {
                        "TableName": t,
                        "Key": other,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    # nothing written; each item billed once, as it stood (2 KB and 1 KB)
    assert meter.units == {("ApiHandler", t): WriteUnits(2 + 1, 0)}
    assert item_size(db.get_item(TableName=t, Key=KEY)["Item"]) == 1500
