"""The shape of the code: dependencies point one way, and the table's keys have one owner.

- ``domain`` imports nothing of Majlis but ``domain``;
- ``usecases`` import ``domain``, ``ports`` and the cross-cutting pieces, never an
  adapter, ``bootstrap``, an entrypoint or ``app``;
- no module but ``adapters/dynamo/schema.py`` writes a table key prefix (in code or in
  an IAM policy: a policy's ``LeadingKeys`` name the schema's prefixes);
- every queue's consumer goes through the one batch pattern of ``entrypoints/workers.py``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from chalicelib.adapters.dynamo import schema

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "chalicelib"
SCHEMA = LIB / "adapters" / "dynamo" / "schema.py"


def _schema_vocabulary() -> list[str]:
    """Every piece of a key the schema writes: its prefixes (``REG#``), the pieces of its
    f-strings (``#EMAIL#``, ``#WAIT``) and its sort keys (``SEATS``, ``MARK``) — read
    from its code, docstrings left out."""
    tree = ast.parse(SCHEMA.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
            piece = "#" in text and text.strip("#{}") and text.upper() == text
            word = text.isupper() and text.isalpha() and len(text) >= 3
            if piece or word:
                found.add(text)
    return sorted(found)


PREFIXES: list[str] = []  # filled below, once the helpers exist


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imports_of(source: str) -> set[str]:
    """Every module a source imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the constant nodes that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def key_prefixes_in(source: str) -> list[str]:
    """The table key prefixes a source writes in its code (docstrings left out)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    texts = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]
    # "REG#" or "#WAIT" anywhere in a text; a whole-word key ("SEATS") as the whole text.
    return [
        prefix
        for text in texts
        for prefix in PREFIXES
        if (prefix in text if "#" in prefix else prefix == text)
    ]


PREFIXES = _schema_vocabulary()
KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi3pk", "gsi3sk"})


def key_lookups_in(source: str) -> list[str]:
    """Where a source reads a key attribute of an item (``item["sk"]``)."""
    return [
        node.slice.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and node.slice.value in KEY_ATTRIBUTES
    ]


# -- the rules ---------------------------------------------------------------------------


def _forbidden(module: str, imported: set[str]) -> list[str]:
    layer = module.split(".")[1] if module.count(".") else module
    bad = []
    if layer == "adapters":
        # Adapters implement the ports: they know nothing of use cases or entrypoints.
        bad += [
            name
            for name in imported
            if name.startswith(
                ("chalicelib.usecases", "chalicelib.entrypoints", "chalicelib.bootstrap")
            )
        ]
    for name in imported:
        top = name.split(".")
        if name == "app" or name.startswith("app."):
            bad.append(name)
        if top[0] != "chalicelib" or len(top) < 2:
            continue
        if top[1] in ("bootstrap", "entrypoints") and layer in ("usecases", "domain"):
            bad.append(name)
        if top[1] == "adapters" and layer in ("usecases", "domain"):
            bad.append(name)
        if layer == "domain" and top[1] not in ("domain",):
            bad.append(name)
    return sorted(set(bad))


@pytest.mark.parametrize(
    "path",
    _modules(LIB / "usecases") + _modules(LIB / "domain") + _modules(LIB / "adapters"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_use_cases_rules_and_adapters_depend_only_downward(path):
    module = _module_name(path)
    assert _forbidden(module, imports_of(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _modules(LIB) if p != SCHEMA] + [ROOT / "app.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_table_key_prefix_outside_the_schema(path):
    source = path.read_text(encoding="utf-8")
    assert key_prefixes_in(source) == []
    assert key_lookups_in(source) == []


def test_the_policies_leading_keys_are_the_schemas_prefixes():
    patterns = []
    for policy in (ROOT / ".chalice").glob("policy-*.json"):
        for statement in json.loads(policy.read_text())["Statement"]:
            condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
            patterns += condition.get("dynamodb:LeadingKeys", [])
    assert patterns
    for pattern in patterns:
        assert pattern.endswith("*") and pattern[:-1] in PREFIXES, pattern


def test_the_schema_names_the_indexes_and_ttl_the_template_creates():
    from infra import template

    table = template()["Resources"]["Table"]["Properties"]
    indexes = {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        schema.EVENT_REGISTRATIONS_INDEX,
        schema.SES_MESSAGE_INDEX,
        schema.WAITING_LIST_INDEX,
    }
    assert table["TimeToLiveSpecification"]["AttributeName"] == schema.TTL
    limits = template()["Resources"]["LimitsTable"]["Properties"]
    assert limits["TimeToLiveSpecification"]["AttributeName"] == schema.TTL


def test_every_queue_consumer_goes_through_the_one_batch_pattern():
    source = (LIB / "entrypoints" / "workers.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    consumers = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr == "on_sqs_message"
            for d in node.decorator_list
        )
    ]
    assert len(consumers) == 6  # mail, announcements, campaigns, exports, SES events, Zoom
    batch_functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for consumer in consumers:
        (call,) = [n for n in ast.walk(consumer) if isinstance(n, ast.Call) and _named(n)]
        batch = batch_functions[call.func.id]  # type: ignore[attr-defined]
        called = {n.func.id for n in ast.walk(batch) if isinstance(n, ast.Call) and _named(n)}
        assert "consume" in called, consumer.name


def _named(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Name) and call.func.id.endswith(("_batch", "consume"))


# -- the rules catch what they are for -------------------------------------------------------


def test_the_checks_would_catch_a_key_prefix_and_an_upward_import():
    assert key_prefixes_in('KEY = f"REG#{rid}"\n') == ["REG#"]
    assert key_prefixes_in('x = "CAMP#" + campaign_id\n') == ["CAMP#"]
    assert key_prefixes_in('"""Docs may say REG#{id}."""\n') == []
    assert key_prefixes_in('key = {"pk": pk, "sk": "SEATS"}\n') == ["SEATS"]
    assert {"EVENT#", "#WAIT"} <= set(key_prefixes_in('pk = f"EVENT#{event}#WAIT"\n'))
    assert key_lookups_in('rid = item["sk"]["S"]\n') == ["sk"]
    assert _forbidden(
        "chalicelib.usecases.x", imports_of("from chalicelib.bootstrap import services\n")
    ) == ["chalicelib.bootstrap", "chalicelib.bootstrap.services"]
    assert _forbidden(
        "chalicelib.domain.x", imports_of("def f():\n    from chalicelib.adapters import aws\n")
    )
    assert _forbidden("chalicelib.usecases.x", imports_of("import app\n")) == ["app"]
    assert _forbidden("chalicelib.domain.x", imports_of("from chalicelib.ports import Page\n"))
