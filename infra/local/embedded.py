"""Embedded AWS for local mode: moto in server mode on loopback, in processes of its own.

moto answers every AWS call local mode makes. In interpreters of its own it does not
take turns for the GIL with the API and the event pump: :class:`EmbeddedAws` starts
``python -m infra.local.embedded`` twice, on sockets it has bound — DynamoDB with its
stream in one process, every other service in the other — and they end when it does.

Four things differ from moto's behaviour. Two are written down in API.md's local
contract: every sender address counts as verified, and every email SES accepts is
also written, byte for byte, to the outbox directory as ``<time>-<message id>.eml``.
The others keep the services' promises under concurrent requests: DynamoDB's atomic
conditional writes, and transactions that leave no trace when they fail; SQS's one
receiver for a message at a time.
And moto's expensive paths are kept off the hot path (``install_quick_answers``,
``install_quick_copies``, ``install_quick_queries``, ``install_quick_queues``,
``install_quick_parsing``, the dispatcher's memory), changing nothing a client reads.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import functools
import gc
import http.client
import json
import logging
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import moto.core.utils as moto_utils
import moto.dynamodb.models as dynamodb_models
import moto.sqs.models as sqs_models
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.ses.models import SESBackend
from waitress.server import create_server

from infra import PROJECT_DIR
from infra.local.pump_process import PUMP_APP_ID  # DynamoDB's turns go to everyone else first

REGION = "us-east-1"
_outbox_lock = threading.Lock()
_outbox: Path | None = None


def aws_environment(endpoint: str, dynamodb: str = "") -> dict[str, str]:
    """What makes every boto3 client in this process (and its children) use moto:
    ``endpoint`` for every service, ``dynamodb`` (when given) for DynamoDB's own."""
    straight = (
        {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb}
        if dynamodb
        else {}
    )
    return straight | {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def write_to_outbox(message_id: str, raw: str | bytes) -> Path | None:
    if _outbox is None:
        return None
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = _outbox / f"{stamp}-{message_id}.eml"
    with _outbox_lock:
        _outbox.mkdir(parents=True, exist_ok=True)
        # Whole or not at all: a reader listing *.eml never sees one half written.
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    return path


class _PeopleFirst:
    """One holder at a time (again and again in the holder's thread, as an RLock), the
    waiters of the first kind before those of the second, each kind in order of arrival.

    Real DynamoDB answers every caller at once; the embedded one answers one request at
    a time (see :func:`install_faithful_dynamodb`), and under a burst the API's requests,
    which people wait for, would queue behind the event pump's (confirmations, Zoom
    sync, counting). Here the pump's requests take every turn no request of the API's
    is waiting for.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: tuple[deque[threading.Lock], deque[threading.Lock]] = (deque(), deque())

    @contextlib.contextmanager
    def turn(self, first: bool = True) -> Any:
        me = threading.get_ident()
        with self._lock:
            if self._owner == me:
                self._depth += 1
                waiting = None
            elif self._owner is None and not any(self._waiting):
                self._owner, self._depth = me, 1
                waiting = None
            else:
                waiting = threading.Lock()
                waiting.acquire()
                self._waiting[0 if first else 1].append(waiting)
        if waiting is not None:
            waiting.acquire()  # released by the holder that hands this thread its turn
            with self._lock:
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if not self._depth:
                    self._owner = None
                    for line in self._waiting:
                        if line:
                            self._owner = -1  # handed on: nobody else may take it meanwhile
                            line.popleft().release()
                            break


_dynamodb_turns = _PeopleFirst()


class _NoTableCopy:
    """moto's ``copy`` module, except that a whole table is never deep-copied.

    moto backs up every table a transaction touches (a deep copy, O(table size) per
    transaction) and puts the copy in place on failure, which also swaps the table's
    stream shard under any reader. :func:`_transact_write_items` rolls back just the
    items the transaction touched instead. With :func:`install_quick_copies`, the copy
    of an item that ``update_item`` makes for its stream record is a :class:`_Snapshot`.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            return value
        if isinstance(value, Item) and getattr(DynamoType, "_majlis_quick", False):
            return _Snapshot(value)  # update_item's old image (install_quick_copies)
        return copy.deepcopy(value, memo)


def _key_of(table: Table, operation: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    attributes = operation.get("Key") or operation["Item"]
    range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
    return DynamoType(attributes[table.hash_key_attr]), (
        DynamoType(range_value) if range_value else None
    )


def _transact_write_items(original: Any) -> Any:
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        shards = {}
        for entry in transact_items:
            operation = next(iter(entry.values()))
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            hash_value, range_value = _key_of(table, operation)
            before = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(before)))
            if table.stream_shard is not None:
                shards[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        try:
            return original(self, transact_items)
        except TransactionCanceledException:
            for table, hash_value, range_value, before in reversed(saved):
                bucket = table.items[hash_value] if range_value is not None else table.items
                slot = range_value if range_value is not None else hash_value
                if before is None:
                    bucket.pop(slot, None)
                else:
                    bucket[slot] = before
                    _noted(table, before)  # the index's buckets (install_quick_queries)
            for shard, length in shards.values():
                del shard.items[length:]  # no stream record for what never happened
            raise

    return transact_write_items


def _one_at_a_time(call_action: Any) -> Any:
    def one_at_a_time(self: Any) -> Any:
        first = PUMP_APP_ID not in (self.headers.get("User-Agent") or "")
        with _dynamodb_turns.turn(first):
            return call_action(self)

    return one_at_a_time


def install_faithful_dynamodb() -> None:
    """Make moto's DynamoDB keep DynamoDB's promises under concurrent requests.

    moto's server handles requests in threads; it checks a condition, then writes, and
    applies a transaction item by item, in place, undoing it if a condition fails. Two
    conditional writes racing for one item could both pass, and a read could see half
    a transaction that is then undone (a promotion onto a full event, say). Real
    DynamoDB serialises writes and shows only whole ones: here, DynamoDB's and its
    stream's requests are answered one at a time, answer included (a result holds
    moto's live items), the event pump's after any other waiting (:class:`_PeopleFirst`).
    Failed transactions roll back item by item (see :class:`_NoTableCopy`).
    """
    if getattr(DynamoDBBackend, "_majlis_faithful", False):
        return
    dynamodb_models.copy = _NoTableCopy()  # type: ignore[attr-defined]
    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        handler.call_action = _one_at_a_time(handler.call_action)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )
    DynamoDBBackend._majlis_faithful = True  # type: ignore[attr-defined]


# Operations whose results moto holds in their wire form already: DynamoDB's on items,
# and the stream's records.
QUICK_ANSWERS = frozenset(
    {("dynamodb", name) for name in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")}
    | {("dynamodb", name) for name in ("Query", "Scan", "BatchGetItem", "TransactGetItems")}
    | {("dynamodbstreams", "GetRecords")}
)


def _timestamp(value: Any) -> float:
    """A timestamp as AWS's JSON protocols send it: seconds since the epoch."""
    if not isinstance(value, datetime):
        raise TypeError(f"{type(value).__name__} is not in DynamoDB's JSON")
    return value.timestamp() if value.tzinfo else moto_utils.unix_time(value)


# moto's own serialiser, whichever shortcut is installed (the tests compare the two).
serialised_by_moto = ActionResult.execute_result


class _JsonResult(DynamoResult):
    """moto's ``DynamoResult``, its result written as JSON at once when it is JSON already.

    moto rebuilds every result, level by level, to turn the DynamoDB types in it into
    plain values; an item's JSON (``Item.to_json``, all that an update answers) has none,
    and the rebuilt one is equal to it. Written here, under the table's turn, the body is
    the one :func:`install_quick_answers` would write from moto's rebuilt result.
    """

    def __init__(self, result: object) -> None:
        try:
            self.json = json.dumps(result)  # any DynamoType, bytes or time refuses
        except (TypeError, ValueError):
            self.json = None
            super().__init__(result)
        else:
            ActionResult.__init__(self, result)


def install_quick_answers() -> None:
    """Answer the operations of :data:`QUICK_ANSWERS` with their result as JSON, as it is.

    moto serialises every answer by walking the operation's output shape, attribute by
    attribute (about 6 ms for one registration's item, the larger part of a join
    click's time in moto, and more for a batch of stream records); these results are
    DynamoDB's JSON already, so the walk changes nothing a client reads
    (tests/unit/test_embedded_aws.py compares the two, answer by answer). Errors, and a
    result holding anything else, are serialised by moto as before. A result that is
    JSON already is not rebuilt first (:class:`_JsonResult`).
    """
    from moto.dynamodb import responses as dynamodb_responses

    if getattr(ActionResult, "_majlis_quick", False):
        return
    serialised = serialised_by_moto

    def execute_result(self: ActionResult, context: Any) -> Any:
        operation = (context.service_model.service_name, context.operation_model.name)
        if operation not in QUICK_ANSWERS or isinstance(self.result, Exception):
            return serialised(self, context)
        body, result = getattr(self, "json", None), self.result
        members = context.operation_model.output_shape.members
        if isinstance(result, dict) and not result.keys() <= members.keys():
            # What the output has no place for, moto's walk leaves out (a DeleteItem's
            # "ConsumedCapacityUnits"): the same bytes, which the rehearsal weighs.
            body, result = None, {k: v for k, v in result.items() if k in members}
        try:
            body = body or json.dumps(result, default=_timestamp)
        except TypeError:
            return serialised(self, context)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        return 200, {"Content-Type": f"application/x-amz-json-{version}"}, body

    ActionResult.execute_result = execute_result  # type: ignore[method-assign]
    dynamodb_responses.DynamoResult = _JsonResult  # type: ignore[misc]
    ActionResult._majlis_quick = True  # type: ignore[attr-defined]


class _Snapshot:
    """An item as it was before an update: all that moto's stream record reads of the
    deep copy ``update_item`` makes for it (its keys, and its JSON once)."""

    __slots__ = ("_attributes", "hash_key", "range_key")

    def __init__(self, item: Item) -> None:
        self.hash_key, self.range_key = item.hash_key, item.range_key  # never updated
        self._attributes = item.to_json()  # new dicts and lists all through

    def to_json(self) -> dict[str, Any]:
        return self._attributes


class _ReadOnce:
    """``copy`` for moto's DynamoDB handler, whose one deep copy is of the item about to
    be updated, read at once (``to_json``, new dicts and lists) and then dropped."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Item) else copy.deepcopy(value, memo)


# moto's own, whichever is installed (the tests compare the two).
moto_to_regular_json = DynamoType.to_regular_json


def _to_regular_json(self: DynamoType) -> dict[str, Any]:
    """moto's ``DynamoType.to_regular_json`` without the deep copy of the whole value
    at every level of a map or list (a map of maps was copied once per level)."""
    value = self.value
    if isinstance(value, dict):
        value = {
            key: item.to_regular_json() if isinstance(item, DynamoType) else copy.deepcopy(item)
            for key, item in value.items()
        }
    elif isinstance(value, list):
        value = [
            item.to_regular_json() if isinstance(item, DynamoType) else copy.deepcopy(item)
            for item in value
        ]
    if self.is_binary() and isinstance(value, str):
        value = base64.b64decode(value)
    return {self.type: value}


def install_quick_copies() -> None:
    """Keep moto's DynamoDB from copying an item where reading it once is enough.

    An update of a registration's item (a join click on one with its Zoom links) was
    mostly copying: moto deep-copies the item for the stream record's old image, and
    again in the handler for the return values, and copies each map once per level of
    it to turn it into JSON (a fifth of the DynamoDB process's time under clicks, and
    growing with the item). Here the stream record's old image is the item's JSON taken
    before the update (:class:`_Snapshot`), the handler reads the item before updating
    it rather than a copy of it (:class:`_ReadOnce`), and a map becomes JSON in one
    walk. Each gives what moto's own gave (tests/unit/test_embedded_aws.py).
    """
    from moto.dynamodb import responses as dynamodb_responses

    if getattr(DynamoType, "_majlis_quick", False):
        return
    install_faithful_dynamodb()  # its copy module, made to snapshot items too
    dynamodb_responses.copy = _ReadOnce()  # type: ignore[attr-defined]
    DynamoType.to_regular_json = _to_regular_json  # type: ignore[method-assign]
    DynamoType._majlis_quick = True  # type: ignore[attr-defined]


_querying = threading.local()  # .partition: the query's, or .index: (attribute, value)


def _index_hashes(table: Table) -> dict[str, dict[DynamoType, dict[Any, Item]]]:
    """The table's items by the value of each index's hash key attribute: for each value,
    {primary key: item} of the items that held it when last written. A superset of
    those that hold it now: a query checks each (:func:`_holding`). Built at the first
    query of an index, from every item; kept since by :func:`_noted`."""
    hashes = table.__dict__.get("_majlis_hashes")
    wanted = {
        key["AttributeName"]
        for index in table.all_indexes()
        for key in index.schema
        if key["KeyType"] == "HASH"
    }
    if hashes is None or not wanted <= hashes.keys():  # first, or an index made since
        hashes = {attribute: {} for attribute in wanted}
        table._majlis_hashes = hashes  # type: ignore[attr-defined]
        for item in _every_item(table):
            _noted(table, item)
    return hashes


def _every_item(table: Table) -> list[Item]:
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


def _noted(table: Table, item: Item | None) -> None:
    """``item`` is the table's item for its key now: in the buckets of its values."""
    hashes = table.__dict__.get("_majlis_hashes")
    if hashes is None or item is None:
        return
    key = (item.hash_key, item.range_key)
    for attribute, by_value in hashes.items():
        value = item.attrs.get(attribute)
        if value is not None:
            by_value.setdefault(value, {})[key] = item


def _holding(table: Table, attribute: str, value: DynamoType) -> list[Item]:
    """The items whose ``attribute`` is ``value`` now; the bucket's others dropped (an
    item written since is in the bucket of what it holds now)."""
    bucket = _index_hashes(table)[attribute].get(value, {})
    found = []
    for key, item in list(bucket.items()):
        hash_value, range_value = key
        current = table.items.get(hash_value)
        if current is not None and range_value is not None:
            current = current.get(range_value)
        held = item.attrs.get(attribute)  # None once removed from the item
        if current is item and held is not None and held == value:
            found.append(item)
        else:
            del bucket[key]
    return found


def _queried_items(all_items: Any) -> Any:
    """moto's ``Table.all_items`` (every item, sorted), but for a query: the partition
    it asks for, or for an index the items holding its hash key's value, unsorted."""

    @functools.wraps(all_items)
    def items(self: Table) -> list[Item]:
        index = getattr(_querying, "index", None)
        if index:
            return _holding(self, *index) if isinstance(index, tuple) else _every_item(self)
        if getattr(_querying, "partition", None) is not None:
            partition = self.items.get(_querying.partition)
            if partition is None:
                return []
            return list(partition.values()) if self.range_key_attr else [partition]
        return all_items(self)

    return items


def _noting_puts(put_item: Any) -> Any:
    @functools.wraps(put_item)
    def put(self: Table, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        _noted(self, item)
        return item

    return put


def _noting_updates(update_item: Any) -> Any:
    """moto's update changes the item in place; noted even when it fails half-way."""

    @functools.wraps(update_item)
    def update(self: DynamoDBBackend, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if table is not None and table.__dict__.get("_majlis_hashes") is not None:
                _noted(table, table.get_item(*_key_of(table, {"Key": key})))

    return update


def install_quick_queries() -> None:
    """Keep moto's DynamoDB from sorting the whole table for every query.

    moto answers a query from every item of the table, sorted by its primary key, and
    keeps those of the partition asked for (or, on an index, those with the index's
    key): O(n log n) in the table for one partition, most of the rehearsal's time once
    it held 5,000 people. What a query finds is then sorted again, by the keys that
    order its answer, primary keys breaking ties: the first sort decides nothing. Here
    a query of the table reads its partition alone, and a query of an index the items
    that hold its hash key's value (:func:`_index_hashes`, kept as items are written:
    reading every item for each index query was most of a 5,000-person rehearsal's
    time once the table held its marks and send records). tests/unit/test_embedded_aws.py
    compares the answers with moto's own, query by query and write by write.
    """
    if getattr(Table, "_majlis_quick", False):
        return
    query = Table.query
    Table.all_items = _queried_items(Table.all_items)  # type: ignore[method-assign]
    Table.put_item = _noting_puts(Table.put_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _noting_updates(  # type: ignore[method-assign]
        DynamoDBBackend.update_item
    )

    @functools.wraps(query)
    def quick_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # index_name: Table.query's eighth parameter, as DynamoDBBackend.query passes it
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name:
            conditions = kwargs.get("hash_key_conditions") or []
            _querying.index = conditions[0] if conditions else True
        else:
            _querying.partition = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _querying.index, _querying.partition = None, None

    Table.query = quick_query  # type: ignore[method-assign]
    Table._majlis_quick = True  # type: ignore[attr-defined]


def install_quick_parsing() -> None:
    """Keep moto from working out twice what cannot have changed.

    - Which of a service's handler methods answers an action: moto lists the handler
      class's functions with ``inspect.getmembers`` for every request (3 % of the
      DynamoDB process's time under load); the list is the class's, kept per class.
    - An ``UpdateItem``'s update expression, parsed into its syntax tree twice for
      every update (once to check the placeholders, once to apply it) and again for
      every update of a transaction: kept per expression text (the placeholders' values
      are not in it). Nothing changes a tree once made: moto's validator works on a
      copy of its own, and the rest only reads it.
    - A condition expression's tokens, lexed by trying six regular expressions at
      every position (a tenth of the DynamoDB process's time under join clicks): kept
      per expression text, each request given tokens of its own (the rest of the
      parse puts the names and values of that request in).
    """
    from moto.core import responses as moto_responses
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    if getattr(UpdateExpressionParser, "_majlis_quick", False):
        return
    moto_responses.method_names_from_class = functools.cache(  # type: ignore[assignment]
        moto_responses.method_names_from_class
    )
    parse = UpdateExpressionParser.make

    @functools.lru_cache(maxsize=512)
    def make(expression: str) -> Any:
        return parse(expression)  # an invalid one raises, and is not kept

    UpdateExpressionParser.make = make  # type: ignore[method-assign]
    lex = ConditionExpressionParser._lex_condition_expression

    @functools.lru_cache(maxsize=512)
    def tokens(expression: str) -> tuple[tuple[str, str, str, str], ...]:
        parser = ConditionExpressionParser(expression, None, None)
        return tuple((n.nonterminal, n.kind, n.text, n.value) for n in lex(parser))

    def lexed(self: ConditionExpressionParser) -> deque[Any]:
        return deque(
            self.Node(nonterminal=nonterminal, kind=kind, text=text, value=value, children=[])
            for nonterminal, kind, text, value in tokens(self.condition_expression)
        )

    ConditionExpressionParser._lex_condition_expression = lexed  # type: ignore[method-assign]
    UpdateExpressionParser._majlis_quick = True  # type: ignore[attr-defined]


# The services of the embedded AWS whose requests moto routes by their URL map.
ROUTED = ("sqs", "sns", "ses", "sesv2", "s3", "secretsmanager", "cloudwatch", "logs", "sts")


def build_routers(services: list[str] | tuple[str, ...]) -> None:
    """Build moto's request routers (werkzeug URL maps) before any request comes.

    moto builds a service's router on the first request of each protocol, and werkzeug
    compiles every rule with ``ast.parse``; two threads doing it at once can fail in
    CPython 3.11.7's AST constructor ("recursion depth mismatch"), answering 500 to
    that request. Built here, in one thread, it never happens under load.
    """
    from moto.core.routing import get_service_router
    from werkzeug.exceptions import NotFound

    for name in services:
        router = get_service_router(name)
        model = router._service_model
        for protocol in model.metadata.get("protocols") or [model.protocol]:
            try:
                router._get_router(protocol)
            except NotFound:
                continue


# What moto's SQS counts over every message of a queue, whenever a queue's attributes
# are read: also on every send, which only asks whether deduplication is content based,
# and for every message a receive looks at, to read the queue's retention period.
_COUNTED = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    }
)
_uncounted = threading.local()  # .now: a send, or a retention check, in this thread


def install_quick_queues() -> None:
    """Keep moto's SQS from walking every message of a queue where it need not.

    A send reads the queue's attributes, which counts the visible, delayed and
    in-flight messages one by one: sending to a queue of n messages costs O(n). So does
    the retention check of every message a receive looks at (which reads the retention
    period through all of the attributes, once for each it lists): a receive from a
    queue of n messages cost O(n²). The counts are left out while a message is being
    sent or its retention checked, and computed as before for ``GetQueueAttributes``.
    And moto reads the time for every message it looks at
    through ``datetime`` (an import and two datetimes a message); ``time.time()`` gives
    the same number.
    """
    if getattr(sqs_models, "_majlis_quick", False):
        return

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else moto_utils.unix_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    sqs_models.unix_time = unix_time  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    counted_attributes = sqs_models.Queue.attributes.fget

    def attributes(self: Any) -> dict[str, Any]:
        """moto's ``Queue.attributes``, without the counts while a message is sent or
        its retention checked."""
        if not getattr(_uncounted, "now", False):
            return counted_attributes(self)
        names = [name for name in self.BASE_ATTRIBUTES if name not in _COUNTED]
        names += self.FIFO_ATTRIBUTES if self.fifo_queue else []
        names += self.KMS_ATTRIBUTES if self.kms_master_key_id else []
        result = {name: getattr(self, camelcase_to_underscores(name)) for name in names}
        if self.policy:
            result["Policy"] = self.policy
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy)
        return {k: str(v).lower() if isinstance(v, bool) else v for k, v in result.items()}

    def uncounted(method: Any) -> Any:
        def without_counts(self: Any, *args: Any, **kwargs: Any) -> Any:
            _uncounted.now = True
            try:
                return method(self, *args, **kwargs)
            finally:
                _uncounted.now = False

        return without_counts

    backend = sqs_models.SQSBackend
    sqs_models.Queue.attributes = property(attributes)  # type: ignore[assignment]
    backend.send_message = uncounted(backend.send_message)  # type: ignore[method-assign]
    backend.is_message_valid_based_on_retention_period = uncounted(  # type: ignore[method-assign]
        backend.is_message_valid_based_on_retention_period
    )
    sqs_models._majlis_quick = True  # type: ignore[attr-defined]


_receiving = threading.RLock()


def install_faithful_queues() -> None:
    """Make moto's SQS hand a message to one receiver at a time.

    moto's ``ReceiveMessage`` looks for visible messages and then marks them received,
    so two receives at once (several pollers of one queue) often both get the same
    message. SQS's standard queues may deliver a message twice, rarely; this made it
    the rule under load. Receives take turns while they look, and not while they wait
    for a message (a long poll).
    """
    if getattr(sqs_models.SQSBackend, "_majlis_faithful", False):
        return
    receive_message = sqs_models.SQSBackend.receive_message
    wait_for_messages = sqs_models.Queue.wait_for_messages

    def receiving(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _receiving:
            return receive_message(self, *args, **kwargs)

    def waiting(self: Any, timeout: int) -> None:
        _receiving.release()  # held once, by this thread's receive
        try:
            wait_for_messages(self, timeout)
        finally:
            _receiving.acquire()

    sqs_models.SQSBackend.receive_message = receiving  # type: ignore[method-assign]
    sqs_models.Queue.wait_for_messages = waiting  # type: ignore[method-assign]
    sqs_models.SQSBackend._majlis_faithful = True  # type: ignore[attr-defined]


def _install_ses_behaviour() -> None:
    """Local SES: with an outbox, every sender verified and every email written to it."""
    if getattr(SESBackend, "_majlis_local", False):
        return
    original_send = SESBackend.send_raw_email
    original_verified = SESBackend._is_verified_address

    def send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str) -> Any:
        message = original_send(self, source, destinations, raw_data)
        write_to_outbox(message.id, raw_data)
        return message

    def is_verified_address(self: Any, source: str) -> bool:
        return _outbox is not None or original_verified(self, source)

    SESBackend._is_verified_address = is_verified_address  # type: ignore[method-assign]
    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]
    SESBackend._majlis_local = True  # type: ignore[attr-defined]


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (0: any free port), as HTTP servers bind."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(128)
    except OSError:
        listening.close()
        raise
    return listening


# Hop-by-hop headers: for one connection, never passed on (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade"})


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves which host, and passing
    DynamoDB's requests on to the process that serves DynamoDB (``dynamodb``).

    moto finds the backend of every request anew: it lists moto's package folder from
    disk and tries the URL pattern of every service, under one lock, twice for a request
    signed for a service. A host's backend never changes while the server runs.
    """

    def __init__(self, dynamodb: tuple[str, int] | None = None) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}
        self._dynamodb = dynamodb
        self._connections = threading.local()

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._dynamodb and _signed_for(environ) == "dynamodb":  # DynamoDB and its streams
            return self._pass_on(environ, start_response)
        return super().__call__(environ, start_response)

    def _pass_on(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self._dynamodb is not None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            name[5:].replace("_", "-"): value
            for name, value in environ.items()
            if name.startswith("HTTP_") and name[5:].replace("_", "-").lower() not in _HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        query = environ.get("QUERY_STRING")
        path = urllib.parse.quote(environ.get("PATH_INFO") or "/") + (f"?{query}" if query else "")
        for attempt in (1, 2):  # a kept-alive connection the other end closed: once more
            connection = getattr(self._connections, "open", None) or http.client.HTTPConnection(
                *self._dynamodb, timeout=60
            )
            try:
                connection.request(environ["REQUEST_METHOD"], path, body, headers)
                answer = connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._connections.open = None
                if attempt == 2:
                    raise
                continue
            self._connections.open = connection
            break
        start_response(
            f"{answer.status} {answer.reason}",
            [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP],
        )
        return [data]


def _signed_for(environ: dict[str, Any]) -> str:
    """The service a request is signed for (SigV4's credential scope), or ""."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scope = authorization.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    return scope[3] if "Credential=" in authorization and len(scope) == 5 else ""


# Threads answering AWS calls at once: the API's, every queue poller's long poll (held
# for up to a second each) and the stream reader, with room to spare.
SERVER_THREADS = 24
# The two processes of the embedded AWS (see EmbeddedAws).
DYNAMODB, SERVICES = "dynamodb", "services"


def serve(fd: int, role: str, outbox: Path | None, dynamodb: tuple[str, int] | None) -> None:
    """A process of the embedded AWS: moto on the listening socket ``fd``, until the
    parent closes this process's stdin (or dies), then gone at once (state is the
    parent's to keep: moto's is forgotten). ``role`` says which: DynamoDB and its
    streams, or every other service (passing DynamoDB's requests on to ``dynamodb``).

    moto's own server (werkzeug's) closes the connection after every answer, so each
    AWS call would open a connection and start a thread; waitress keeps connections
    alive and answers on a fixed pool of threads.
    """
    global _outbox
    _outbox = outbox
    install_quick_parsing()
    build_routers(["dynamodb", "dynamodbstreams"] if role == DYNAMODB else ROUTED)
    if role == DYNAMODB:
        install_faithful_dynamodb()
        install_quick_answers()
        install_quick_copies()
        install_quick_queries()
    else:
        _install_ses_behaviour()
        install_faithful_queues()
        install_quick_queues()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    listening = socket.socket(fileno=fd)
    server = create_server(
        _Dispatcher(dynamodb if role == SERVICES else None),
        sockets=[listening],
        threads=SERVER_THREADS,
        connection_limit=1024,
        asyncore_use_poll=True,  # beyond select()'s 1,024 descriptors
        ident="moto",
    )

    def until_parent_goes() -> None:
        sys.stdin.read()  # EOF: the parent closed the pipe, or ended
        os._exit(0)

    threading.Thread(target=until_parent_goes, daemon=True).start()
    print("ready", flush=True)
    server.run()


class EmbeddedAws:
    """moto's server on 127.0.0.1, in two child processes (``python -m
    infra.local.embedded``): DynamoDB with its streams in one, every other service in
    the other, each in an interpreter of its own. :attr:`endpoint` answers for every
    service (it passes DynamoDB's requests on), so a command line or script needs only
    ``AWS_ENDPOINT_URL``; Majlis's own clients also get ``AWS_ENDPOINT_URL_DYNAMODB``
    (and ``…_DYNAMODB_STREAMS``), straight to DynamoDB's process."""

    READY_SECONDS = 60.0

    def __init__(self, port: int = 0, outbox: Path | None = None) -> None:
        self.port = port
        self.outbox = outbox
        self._processes: list[subprocess.Popen[str]] = []
        self.endpoint = self.dynamodb_endpoint = ""

    def start(self) -> str:
        """Serve, starting from nothing (new processes: nothing is remembered).

        A port already in use raises ``OSError`` (``EADDRINUSE``) before anything starts.
        """
        services = listen("127.0.0.1", self.port)
        try:
            dynamodb = listen("127.0.0.1", 0)
        except OSError:
            services.close()
            raise
        try:
            dynamodb_at = dynamodb.getsockname()[:2]
            self._spawn(dynamodb, DYNAMODB, "")
            self._spawn(services, SERVICES, f"{dynamodb_at[0]}:{dynamodb_at[1]}")
            host, port = services.getsockname()[:2]
        finally:
            services.close()  # the children serve on their own copies of the sockets
            dynamodb.close()
        for process in self._processes:
            self._wait_until_ready(process)
        self.endpoint = f"http://{host}:{port}"
        self.dynamodb_endpoint = f"http://{dynamodb_at[0]}:{dynamodb_at[1]}"
        os.environ.update(aws_environment(self.endpoint, self.dynamodb_endpoint))
        return self.endpoint

    def _spawn(self, listening: socket.socket, role: str, dynamodb: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        self._processes.append(
            subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [
                    sys.executable,
                    "-m",
                    "infra.local.embedded",
                    str(listening.fileno()),
                    role,
                    str(self.outbox or ""),
                    dynamodb,
                ],
                cwd=PROJECT_DIR,
                env={**env, "PYTHONPATH": str(PROJECT_DIR)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                pass_fds=(listening.fileno(),),
            )
        )

    def _wait_until_ready(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(process.stdout, selectors.EVENT_READ)
        line = process.stdout.readline() if ready.select(self.READY_SECONDS) else ""
        ready.close()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"the embedded AWS did not start ({line.strip() or 'no answer'})")

    def stop(self) -> None:
        """Stop serving and forget every resource."""
        processes, self._processes = self._processes, []
        for process in processes:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()  # the child ends itself at once
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def freeze_survivors() -> None:
    """After each full collection of this process's cyclic garbage collector, leave
    what survived it out of the next ones (``gc.freeze``).

    A full collection looks at every object the process holds and stops every thread
    while it does: with the table of a few thousand registrations, their stream
    records and moto's models, over a second at a time. What survives one is the
    process's lasting state (items, records, modules), so the next full collection
    looks only at what came after. Garbage among frozen objects is still freed when
    nothing refers to it; only reference cycles made of them are kept. The youngest
    objects are collected every 10,000 allocations rather than 700: a request makes
    thousands.
    """
    gc.set_threshold(10_000, 10, 10)
    if _freeze_after_full in gc.callbacks:
        return
    gc.callbacks.append(_freeze_after_full)


def _freeze_after_full(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info["generation"] == 2:  # the oldest: a full collection
        gc.freeze()


def _main(argv: list[str]) -> None:
    freeze_survivors()
    fd, role, outbox, dynamodb = argv
    host, _, port = dynamodb.rpartition(":")
    serve(int(fd), role, Path(outbox) if outbox else None, (host, int(port)) if port else None)


if __name__ == "__main__":
    _main(sys.argv[1:])
