"""Embedded AWS for local mode: moto in server mode on loopback, in this process.

Three things differ from moto's defaults. Two are written down in API.md's local
contract: every sender address counts as verified, and every email SES accepts is
also written, byte for byte, to the outbox directory as ``<time>-<message id>.eml``.
The third makes moto's DynamoDB keep DynamoDB's promise of atomic conditional writes
under concurrent requests.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.server import ThreadedMotoServer
from moto.ses.models import SESBackend

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
        path.write_bytes(data)
    return path


_dynamodb_lock = threading.RLock()


def _install_atomic_dynamodb() -> None:
    """Make moto's DynamoDB writes atomic, as DynamoDB's are.

    moto's server handles requests in threads and checks a condition, then writes:
    two conditional writes (or transactions) racing for one item can both pass. Real
    DynamoDB serialises them. Holding one lock per write restores that guarantee.
    """
    if getattr(DynamoDBBackend, "_majlis_atomic", False):
        return
    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "transact_write_items",
        "batch_write_item",
    ):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _dynamodb_lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._majlis_atomic = True  # type: ignore[attr-defined]


def _install_ses_behaviour() -> None:
    if getattr(SESBackend, "_majlis_local", False):
        return
    original = SESBackend.send_raw_email

    def send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str) -> Any:
        message = original(self, source, destinations, raw_data)
        write_to_outbox(message.id, raw_data)
        return message

    SESBackend._is_verified_address = lambda self, source: True  # type: ignore[method-assign]
    SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]
    SESBackend._majlis_local = True  # type: ignore[attr-defined]


class EmbeddedAws:
    """moto's server on 127.0.0.1, started in a thread of this process."""

    def __init__(self, port: int = 0, outbox: Path | None = None) -> None:
        global _outbox
        _outbox = outbox
        _install_ses_behaviour()
        _install_atomic_dynamodb()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per AWS call
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        os.environ.update(aws_environment(self.endpoint))
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()
