"""Event statistics: counters on one item per event, each change counted once."""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes
from chalicelib.adapters.dynamo.table import CONFLICT_RETRIES, Table, backoff, reasons
from chalicelib.ports import StatsStore, StoreBusy

STATS_CHUNK = 99  # a transaction holds 100 items: the counters and 99 change marks


class DynamoStatsStore(Table, StatsStore):
    """Counters on one item per event. Each change is counted in the same transaction
    that writes a mark keyed by its stream record id, on condition that the mark is new:
    a batch delivered again adds nothing twice."""

    def apply(self, event_id: str, changes: list[tuple[str, dict[str, int]]]) -> int:
        counted = 0
        for start in range(0, len(changes), STATS_CHUNK):
            counted += self._apply_chunk(event_id, changes[start : start + STATS_CHUNK])
        return counted

    def _apply_chunk(self, event_id: str, pending: list[tuple[str, dict[str, int]]]) -> int:
        conflicts = 0
        while pending:
            try:
                self.db.transact_write_items(TransactItems=self._items(event_id, pending))
                return len(pending)
            except ClientError as error:
                code = error_code(error)
                codes = [r.get("Code") for r in reasons(error)]
            if code == "TransactionCanceledException" and "ConditionalCheckFailed" in codes:
                # Those marks exist: their changes were counted. Count the others.
                pending = [
                    c
                    for c, why in zip(pending, codes, strict=False)
                    if why != "ConditionalCheckFailed"
                ]
                continue
            if conflicts >= CONFLICT_RETRIES:
                raise StoreBusy()
            backoff(conflicts)  # contended counters, throttling: try again shortly
            conflicts += 1
        return 0

    def _items(self, event_id: str, changes: list[tuple[str, dict[str, int]]]) -> list[dict]:
        total: dict[str, int] = {"changes": len(changes)}
        for _, moves in changes:
            for name, count in moves.items():
                total[name] = total.get(name, 0) + count
        names = {f"#c{index}": name for index, name in enumerate(total)}
        values = {f":c{index}": count for index, count in enumerate(total.values())}
        now = int(time.time())
        marks = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(schema.stats_mark_item(change_id, now)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for change_id, _ in changes
        ]
        adds = ", ".join(f"{name} {value}" for name, value in zip(names, values, strict=True))
        counters = {
            "Update": {
                "TableName": self.name,
                "Key": to_attributes(schema.stats_key(event_id)),
                "UpdateExpression": f"ADD {adds}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attributes(values),
            }
        }
        return [*marks, counters]

    def read(self, event_id: str) -> dict[str, int]:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.stats_key(event_id)), ConsistentRead=True
        ).get("Item")
        values = from_attributes(item or {})
        return {
            name: value
            for name, value in values.items()
            if name not in ("pk", "sk", "changes") and isinstance(value, int)
        }
