"""Keeping local mode's table across restarts (moto itself keeps nothing on disk).

On a clean stop the table's items are written to ``.local/state/table.jsonl``; on the
next start they are put back before the event pump starts reading the stream, so a
restart sends no email twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from infra.local.embedded import REGION


def save_table(table: str, path: Path) -> int:
    db = boto3.client("dynamodb", region_name=REGION)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        for page in db.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                count += 1
    temporary.replace(path)
    return count


def load_table(table: str, path: Path) -> int:
    if not path.exists():
        return 0
    db = boto3.client("dynamodb", region_name=REGION)
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        db.batch_write_item(RequestItems={table: batch})
    return len(items)
