"""DynamoDB's write units, measured item by item as the rehearsal's moto writes them.

A call's bytes do not say what DynamoDB bills for it: an ``UpdateItem`` is billed on
the item it changes (the larger of before and after), not on its request, and a write
to a table also writes to each global secondary index the item is in, which no call
shows. :class:`WriteMeter` sees each write as moto applies it, the item before and
after, and bills it as DynamoDB's developer guide says:

- An item's size is the UTF-8 bytes of its attribute names and values; a number 1 byte
  per two significant digits and 1 more; a boolean or null 1 byte; a list or map 3
  bytes, and 1 more for each element ("DynamoDB item sizes and formats",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
- A write is billed 1 unit a KB of the larger of the item before and after, at least 1;
  a conditional write whose condition fails, on the item as it is; in a transaction,
  twice ("Capacity management for transactions",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
  A cancelled transaction is billed once for each of its items, as it stood (its
  prepare phase; an estimate).
- An index is written when the item comes into it (its index keys now all there), goes
  out of it, or changes what it projects there; a change of its index keys is a delete
  and a put, two writes. Each is billed on the size of the index's entry: the table's
  and the index's keys and the projected attributes ("Provisioned throughput
  considerations for Global Secondary Indexes",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations).

Only the writes of requests that :meth:`WriteMeter.measuring` wraps are counted, by
whom they are made and which table: the rehearsal's own server marks its requests, and
moto used elsewhere in the process is left alone.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.exceptions import ConditionalCheckFailed, TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from infra.local.embedded import _key_of

KB = 1024
Attributes = Mapping[str, Mapping[str, Any]]  # an item as DynamoDB's JSON: {"pk": {"S": …}}


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return _number_size(content)
    if kind == "B":
        return len(content)  # raw bytes, as moto's JSON holds them
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(_number_size(n) for n in content)
    if kind == "BS":
        return sum(len(b) for b in content)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in content.items())
    raise ValueError(f"not a DynamoDB type: {kind}")


def _number_size(number: str) -> int:
    digits = re.sub(r"[^0-9]", "", number.lower().split("e")[0]).strip("0")
    return math.ceil(len(digits) / 2) + 1


def item_size(attributes: Attributes | None) -> int:
    """An item's size in bytes, as DynamoDB counts it for capacity (0: no item)."""
    if not attributes:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in attributes.items())


def _units(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Index:
    """What a global secondary index holds of an item."""

    name: str
    keys: tuple[str, ...]  # the index's own key attributes
    table_keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: frozenset[str] = frozenset()

    @classmethod
    def of(cls, table: Table) -> tuple[Index, ...]:
        table_keys = tuple(a for a in (table.hash_key_attr, table.range_key_attr) if a)
        return tuple(
            cls(
                name=index.name,
                keys=tuple(index.schema_key_attrs),
                table_keys=table_keys,
                projection=index.projection.get("ProjectionType", "ALL"),
                included=frozenset(index.projection.get("NonKeyAttributes") or ()),
            )
            for index in table.global_indexes
        )

    def entry(self, item: Attributes | None) -> dict[str, Any] | None:
        """The item's entry in the index; None when it is not in it."""
        if not item or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        wanted = {*self.keys, *self.table_keys}
        if self.projection == "INCLUDE":
            wanted |= self.included
        return {name: value for name, value in item.items() if name in wanted}

    def write_units(self, before: Attributes | None, after: Attributes | None) -> int:
        """The index's write units for an item going from ``before`` to ``after``."""
        old, new = self.entry(before), self.entry(after)
        if old is None and new is None:
            return 0
        if old is None or new is None:
            return _units(item_size(old or new))
        if any(old[key] != new[key] for key in self.keys):
            return _units(item_size(old)) + _units(item_size(new))  # a delete, then a put
        return _units(item_size(new)) if old != new else 0


@dataclass(frozen=True)
class WriteUnits:
    table: float = 0
    indexes: float = 0

    def __add__(self, other: WriteUnits) -> WriteUnits:
        return WriteUnits(self.table + other.table, self.indexes + other.indexes)


def write_units(
    indexes: tuple[Index, ...],
    before: Attributes | None,
    after: Attributes | None,
    *,
    transactional: bool = False,
) -> WriteUnits:
    """What one item's write costs, table and indexes: ``after`` None deletes it."""
    table = _units(max(item_size(before), item_size(after))) * (2 if transactional else 1)
    return WriteUnits(table, sum(index.write_units(before, after) for index in indexes))


def refused_units(before: Attributes | None) -> WriteUnits:
    """A write whose condition failed, or an item of a cancelled transaction: on the
    item as it is."""
    return WriteUnits(_units(item_size(before)))


_measuring = threading.local()  # .meter and .who: whose write this thread is applying


class WriteMeter:
    """Write units by (who, table), of the writes made under :meth:`measuring`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._units: dict[tuple[str, str], WriteUnits] = {}

    @property
    def units(self) -> dict[tuple[str, str], WriteUnits]:
        with self._lock:
            return dict(self._units)

    @contextlib.contextmanager
    def measuring(self, who: str) -> Iterator[None]:
        """Count the writes this thread applies meanwhile as ``who``'s."""
        _measuring.meter, _measuring.who = self, who
        try:
            yield
        finally:
            _measuring.meter = None

    def add(self, who: str, table: str, units: WriteUnits) -> None:
        with self._lock:
            self._units[who, table] = self._units.get((who, table), WriteUnits()) + units


def _attributes(table: Table, key: Mapping[str, Any]) -> dict[str, Any] | None:
    hash_value, range_value = _key_of(table, {"Key": key})
    item = table.get_item(hash_value, range_value)
    return item.to_json()["Attributes"] if item is not None else None


def _metered(original: Any, key_of: Any) -> Any:
    """A backend write method (put, update or delete) that bills what it did."""

    def write(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Any:
        meter = getattr(_measuring, "meter", None)
        if meter is None:
            return original(self, table_name, *args, **kwargs)
        table = self.get_table(table_name)
        key = key_of(table, *args, **kwargs)
        before = _attributes(table, key)
        transaction = getattr(_measuring, "transaction", None)
        try:
            result = original(self, table_name, *args, **kwargs)
        except ConditionalCheckFailed:
            if transaction is None:  # a transaction's refusals are billed when it ends
                meter.add(_measuring.who, table.name, refused_units(before))
            raise
        after = _attributes(table, key)
        units = write_units(Index.of(table), before, after, transactional=transaction is not None)
        if transaction is None:
            meter.add(_measuring.who, table.name, units)
        else:
            transaction.append((table.name, units))
        return result

    return write


def _put_key(table: Table, *args: Any, **kwargs: Any) -> dict[str, Any]:
    item = args[0] if args else kwargs["item_attrs"]
    return {a: item[a] for a in (table.hash_key_attr, table.range_key_attr) if a}


def _given_key(table: Table, *args: Any, **kwargs: Any) -> Mapping[str, Any]:
    return args[0] if args else kwargs["key"]


def _metered_transaction(original: Any) -> Any:
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        meter = getattr(_measuring, "meter", None)
        if meter is None:
            return original(self, transact_items)
        standing = []  # (table, kind, the item before), entry by entry
        for entry in transact_items:
            ((kind, operation),) = entry.items()
            table = self.tables.get(operation.get("TableName"))
            if table is not None:
                hash_value, range_value = _key_of(table, operation)
                item = table.get_item(hash_value, range_value)
                standing.append((table.name, kind, item.to_json()["Attributes"] if item else None))
        _measuring.transaction = written = []
        try:
            result = original(self, transact_items)
        except TransactionCanceledException:
            for table_name, _, before in standing:
                meter.add(_measuring.who, table_name, refused_units(before))
            raise
        finally:
            _measuring.transaction = None
        for table_name, units in written:
            meter.add(_measuring.who, table_name, units)
        for table_name, kind, before in standing:
            if kind == "ConditionCheck":  # billed as a write of the item, unchanged
                meter.add(
                    _measuring.who, table_name, write_units((), before, before, transactional=True)
                )
        return result

    return transact_write_items


def install() -> None:
    """Bill the backend's writes to the meter of the request applying them, if any."""
    if getattr(DynamoDBBackend, "_majlis_metered", False):
        return
    backend = DynamoDBBackend
    backend.put_item = _metered(backend.put_item, _put_key)  # type: ignore[method-assign]
    backend.update_item = _metered(backend.update_item, _given_key)  # type: ignore[method-assign]
    backend.delete_item = _metered(backend.delete_item, _given_key)  # type: ignore[method-assign]
    backend.transact_write_items = _metered_transaction(  # type: ignore[method-assign]
        backend.transact_write_items
    )
    backend._majlis_metered = True  # type: ignore[attr-defined]
