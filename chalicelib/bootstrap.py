"""Wiring: the one place where adapters are chosen and handed to the use cases.

``majlis()`` builds the AWS-backed set once per Lambda container, on first use (not at
import, so cold starts and tests pay nothing for what they do not use). Tests install
their own set with ``use(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.config import Settings, settings
from chalicelib.ports import EventStore, JobQueue, Mailer, RegistrationStore, SendLog, TokenStore

if TYPE_CHECKING:
    from chalicelib.links import KeyRing, StaticKeys
    from chalicelib.usecases.registrations import SeatHint


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Majlis:
    settings: Settings
    events: EventStore
    registrations: RegistrationStore
    send_log: SendLog
    tokens: TokenStore
    mail_queue: JobQueue
    mailer: Mailer
    seat_hint: SeatHint
    keys: KeyRing | StaticKeys
    clock: Callable[[], datetime] = utc_now


_current: Majlis | None = None


def majlis() -> Majlis:
    global _current
    if _current is None:
        _current = on_aws(settings())
    return _current


def use(instance: Majlis | None) -> None:
    """Install a wired set (tests, the local runner); ``None`` goes back to AWS."""
    global _current
    _current = instance


def on_aws(config: Settings) -> Majlis:
    from chalicelib.adapters.dynamo import (
        CachedEventStore,
        DynamoEventStore,
        DynamoRegistrationStore,
        DynamoSendLog,
        DynamoTokenStore,
    )
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.sqs import SqsJobQueue
    from chalicelib.links import KeyRing
    from chalicelib.usecases.registrations import SeatHint

    return Majlis(
        settings=config,
        events=CachedEventStore(DynamoEventStore(config.table_name), config.event_cache_seconds),
        registrations=DynamoRegistrationStore(config.table_name),
        send_log=DynamoSendLog(config.table_name, config.send_lease_seconds),
        tokens=DynamoTokenStore(config.table_name),
        mail_queue=SqsJobQueue(config.mail_queue_url),
        mailer=SesMailer(config.ses_configuration_set or None),
        seat_hint=SeatHint(),
        keys=KeyRing(config.signing_keys_secret_id),
    )
