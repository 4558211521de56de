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
from chalicelib.ports import (
    CampaignStore,
    EventStore,
    ExportFiles,
    ExportStore,
    JobQueue,
    Mailer,
    RateLimiter,
    RegistrationStore,
    SendLog,
    SendPacer,
    StatsStore,
    TokenStore,
    ZoomClient,
    ZoomStore,
)

if TYPE_CHECKING:
    from chalicelib.adapters.zoom import ZoomCredentials
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
    campaigns: CampaignStore
    exports: ExportStore
    export_files: ExportFiles
    stats: StatsStore
    tokens: TokenStore
    mail_queue: JobQueue
    campaign_queue: JobQueue
    export_queue: JobQueue
    mailer: Mailer
    pacer: SendPacer
    limiter: RateLimiter
    seat_hint: SeatHint
    keys: KeyRing | StaticKeys
    zoom: ZoomClient
    zoom_store: ZoomStore
    zoom_queue: JobQueue
    zoom_dead_letters: JobQueue
    zoom_credentials: Callable[[], ZoomCredentials]
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
        DynamoCampaignStore,
        DynamoEventStore,
        DynamoExportStore,
        DynamoRegistrationStore,
        DynamoSendLog,
        DynamoStatsStore,
        DynamoTokenStore,
    )
    from chalicelib.adapters.limits import DynamoRateLimiter
    from chalicelib.adapters.pacer import DynamoSendPacer
    from chalicelib.adapters.s3 import S3Exports
    from chalicelib.adapters.secrets import SecretRing
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.sqs import SqsJobQueue
    from chalicelib.adapters.zoom import ZoomApi, ZoomCredentials
    from chalicelib.adapters.zoomstore import DynamoZoomStore
    from chalicelib.links import KeyRing
    from chalicelib.usecases.registrations import SeatHint

    zoom_secret = SecretRing(config.zoom_secret_id)

    def zoom_credentials() -> ZoomCredentials:
        return ZoomCredentials.from_secret(zoom_secret.value())

    return Majlis(
        settings=config,
        events=CachedEventStore(DynamoEventStore(config.table_name), config.event_cache_seconds),
        registrations=DynamoRegistrationStore(config.table_name, config.limits_table_name),
        send_log=DynamoSendLog(config.table_name, config.send_lease_seconds),
        stats=DynamoStatsStore(config.table_name),
        campaigns=DynamoCampaignStore(config.table_name),
        exports=DynamoExportStore(config.table_name),
        export_files=S3Exports(config.export_bucket),
        tokens=DynamoTokenStore(config.table_name),
        mail_queue=SqsJobQueue(config.mail_queue_url),
        campaign_queue=SqsJobQueue(config.campaign_queue_url),
        export_queue=SqsJobQueue(config.export_queue_url),
        mailer=SesMailer(
            config.ses_configuration_set or None,
            config.ses_max_send_rate,
            config.ses_max_24_hour_send,
        ),
        pacer=DynamoSendPacer(config.table_name),
        limiter=DynamoRateLimiter(config.limits_table_name),
        seat_hint=SeatHint(),
        keys=KeyRing(config.signing_keys_secret_id),
        zoom=ZoomApi(zoom_credentials, config.zoom_api_url, config.zoom_oauth_url),
        zoom_store=DynamoZoomStore(config.table_name),
        zoom_queue=SqsJobQueue(config.zoom_queue_url),
        zoom_dead_letters=SqsJobQueue(config.zoom_dead_letter_url),
        zoom_credentials=zoom_credentials,
    )
