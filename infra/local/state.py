"""Keeping local mode's state across restarts (moto itself keeps nothing on disk).

Under ``.local/state/`` (a folder only its owner may read):

- ``table.jsonl``: the table's items, written on a clean stop and put back at the next
  start before the event pump starts reading the stream, so a restart sends no email
  twice. When the Zoom stand-in serves at another address than last time, the stand-in's
  address in every stored string (registrants' join URLs, sessions' ``join_url``) is
  re-pointed as the items are put back (``load_table``'s ``rewrite``);
- ``signing-keys.json``: the value of the link-signing secret (``majlis/signing-keys``),
  written when first generated and on each stop, put back into the embedded Secrets
  Manager before anything signs or checks a link, so links in emails sent before a
  restart keep working (mode 0600: whoever holds it can forge any link);
- ``zoom.json``: the Zoom stand-in's port and account (``ZoomStandIn.export_state``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3

from infra.local.embedded import REGION


def state_dir(path: Path) -> Path:
    """``path``, created readable by its owner only (it holds people's data and keys)."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step, mode 0600 from the first byte."""
    state_dir(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    temporary.chmod(0o600)  # a leftover temporary file may have had another mode
    temporary.replace(path)


def read_json(path: Path) -> Any:
    """The JSON document at ``path``, or None when there is none."""
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, document: Any) -> None:
    write_private(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def save_table(table: str, path: Path) -> int:
    db = boto3.client("dynamodb", region_name=REGION)
    state_dir(path.parent)
    count = 0
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        for page in db.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                count += 1
    temporary.replace(path)
    return count


def _rewritten(value: dict[str, Any], rewrite: dict[str, str]) -> dict[str, Any]:
    """A DynamoDB attribute value with each ``old`` of ``rewrite`` replaced in its strings."""

    def replaced(text: str) -> str:
        for old, new in rewrite.items():
            text = text.replace(old, new)
        return text

    ((kind, inner),) = value.items()
    if kind == "S":
        return {"S": replaced(inner)}
    if kind == "SS":
        return {"SS": [replaced(text) for text in inner]}
    if kind == "L":
        return {"L": [_rewritten(member, rewrite) for member in inner]}
    if kind == "M":
        return {"M": {name: _rewritten(member, rewrite) for name, member in inner.items()}}
    return value


def load_table(table: str, path: Path, rewrite: dict[str, str] | None = None) -> int:
    """Put the saved items back; ``rewrite`` (old → new) applies to every string in them."""
    if not path.exists():
        return 0
    db = boto3.client("dynamodb", region_name=REGION)
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if rewrite:
        items = [
            {name: _rewritten(value, rewrite) for name, value in item.items()} for item in items
        ]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        db.batch_write_item(RequestItems={table: batch})
    return len(items)
