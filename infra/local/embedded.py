"""Embedded AWS for local mode: moto in server mode on loopback, in this process.

Three things differ from moto's defaults. Two are written down in API.md's local
contract: every sender address counts as verified, and every email SES accepts is
also written, byte for byte, to the outbox directory as ``<time>-<message id>.eml``.
The third makes moto's DynamoDB keep DynamoDB's promises under concurrent requests:
atomic conditional writes, and transactions that leave no trace when they fail.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from moto.ses.models import SESBackend
from werkzeug.serving import make_server

REGION = "us-east-1"
_outbox_lock = threading.Lock()
_outbox: Path | None = None


def aws_environment(endpoint: str) -> dict[str, str]:
    """What makes every boto3 client in this process (and its children) use moto."""
    return {
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


_dynamodb_lock = threading.RLock()


class _NoTableCopy:
    """moto's ``copy`` module, except that a whole table is never deep-copied.

    moto backs up every table a transaction touches (a deep copy, O(table size) per
    transaction) and puts the copy in place on failure, which also swaps the table's
    stream shard under any reader. :func:`_transact_write_items` rolls back just the
    items the transaction touched instead.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _key_of(table: Table, operation: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    attributes = operation.get("Key") or operation["Item"]
    range_value = attributes.get(table.range_key_attr) if table.range_key_attr else None
    return DynamoType(attributes[table.hash_key_attr]), (
        DynamoType(range_value) if range_value else None
    )


def _transact_write_items(original: Any) -> Any:
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        with _dynamodb_lock:
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
                for shard, length in shards.values():
                    del shard.items[length:]  # no stream record for what never happened
                raise

    return transact_write_items


def install_faithful_dynamodb() -> None:
    """Make moto's DynamoDB keep DynamoDB's promises under concurrent requests.

    moto's server handles requests in threads and checks a condition, then writes: two
    conditional writes (or transactions) racing for one item can both pass. Real
    DynamoDB serialises them; one lock per write restores that guarantee. Failed
    transactions roll back item by item (see :class:`_NoTableCopy`).
    """
    if getattr(DynamoDBBackend, "_majlis_faithful", False):
        return
    dynamodb_models.copy = _NoTableCopy()  # type: ignore[attr-defined]
    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend.transact_write_items = _transact_write_items(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )
    DynamoDBBackend._majlis_faithful = True  # type: ignore[attr-defined]


def _install_ses_behaviour() -> None:
    """Local SES: every sender verified, every email to the outbox — while local mode runs.

    moto's backends are per process: outside local mode (say, a test on moto after an
    end-to-end test in the same process), SES behaves as moto does.
    """
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


class _MotoServer(ThreadedMotoServer):
    """moto's threaded server on a socket this process already listens on.

    moto binds in its server thread, where a busy port makes werkzeug print two lines
    and exit that thread, and ``start`` then waits for it forever. Bound beforehand, a
    busy port is an ``OSError`` (``EADDRINUSE``) in the caller, before any thread.
    """

    def __init__(self, listening: socket.socket) -> None:
        host, port = listening.getsockname()[:2]
        super().__init__(ip_address=host, port=port, verbose=False)
        self._listening = listening

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address,
            self._port,
            app,
            True,
            request_handler=MotoRequestHandler,
            fd=self._listening.fileno(),
        )
        self._server_ready_event.set()
        self._server.serve_forever()


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


class EmbeddedAws:
    """moto's server on 127.0.0.1, started in a thread of this process."""

    def __init__(self, port: int = 0, outbox: Path | None = None) -> None:
        global _outbox
        _outbox = outbox
        _install_ses_behaviour()
        install_faithful_dynamodb()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per AWS call
        self.port = port
        self._server: _MotoServer | None = None
        self.endpoint = ""

    def start(self) -> str:
        """Serve, starting from nothing (moto's state is per process: forget what was).

        A port already in use raises ``OSError`` (``EADDRINUSE``) before anything starts.
        """
        listening = listen("127.0.0.1", self.port)
        self._server = _MotoServer(listening)
        try:
            self._server.start()
        finally:
            listening.close()  # the server serves on its own duplicate of the socket
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._reset()
        os.environ.update(aws_environment(self.endpoint))
        return self.endpoint

    def stop(self) -> None:
        """Stop serving and forget every resource."""
        global _outbox
        _outbox = None
        if self._server is None:
            return
        self._reset()
        self._server.stop()
        self._server = None

    def _reset(self) -> None:
        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - our moto, on loopback
