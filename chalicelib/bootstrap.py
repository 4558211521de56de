"""Wiring: the one place where adapters are chosen and handed to the use cases.

``services()`` builds the AWS-backed :class:`~chalicelib.ports.Services` once per Lambda
container, on first use (not at import, so cold starts and tests pay nothing for what
they do not use). Tests and local mode install their own set with ``use(...)``. Only
entrypoints (and the command lines) import this module: nothing below it does.
"""

from __future__ import annotations

from chalicelib.config import Settings, settings
from chalicelib.ports import Services, ZoomCredentials

_current: Services | None = None


def services() -> Services:
    global _current
    if _current is None:
        _current = on_aws(settings())
    return _current


def use(instance: Services | None) -> None:
    """Install a wired set (tests, the local runner); ``None`` goes back to AWS."""
    global _current
    _current = instance


def on_aws(config: Settings) -> Services:
    from chalicelib.adapters.caches import CachedEventStore, ContainerSeatHint
    from chalicelib.adapters.dynamo.campaigns import DynamoCampaignStore
    from chalicelib.adapters.dynamo.events import DynamoEventStore
    from chalicelib.adapters.dynamo.exports import DynamoExportStore
    from chalicelib.adapters.dynamo.limits import DynamoRateLimiter
    from chalicelib.adapters.dynamo.organizers import DynamoOrganizerStore
    from chalicelib.adapters.dynamo.pacer import DynamoSendPacer
    from chalicelib.adapters.dynamo.registrations import DynamoRegistrationStore
    from chalicelib.adapters.dynamo.sendlog import DynamoSendLog
    from chalicelib.adapters.dynamo.stats import DynamoStatsStore
    from chalicelib.adapters.dynamo.tokens import DynamoTokenStore
    from chalicelib.adapters.dynamo.zoom import DynamoZoomStore
    from chalicelib.adapters.s3 import S3Exports
    from chalicelib.adapters.secrets import SecretRing, SigningKeyRing
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.sqs import SqsDeadLetters, SqsJobQueue
    from chalicelib.adapters.zoom_api import ZoomApi

    zoom_secret = SecretRing(config.zoom_secret_id, optional=True)
    webhook_secret = SecretRing(config.zoom_webhook_secret_id, optional=True)

    def zoom_credentials() -> ZoomCredentials:
        return ZoomCredentials.from_secret(zoom_secret.value())

    def zoom_webhook_token() -> str:
        token = webhook_secret.value().get("secret_token", "")
        return token if isinstance(token, str) else ""

    return Services(
        settings=config,
        events=CachedEventStore(DynamoEventStore(config.table_name), config.event_cache_seconds),
        registrations=DynamoRegistrationStore(config.table_name, config.limits_table_name),
        send_log=DynamoSendLog(config.table_name, config.send_lease_seconds),
        stats=DynamoStatsStore(config.table_name),
        campaigns=DynamoCampaignStore(config.table_name),
        exports=DynamoExportStore(config.table_name),
        export_files=S3Exports(config.export_bucket),
        tokens=DynamoTokenStore(config.table_name),
        organizers=DynamoOrganizerStore(config.table_name),
        mail_queue=SqsJobQueue(config.mail_queue_url),
        announcement_queue=SqsJobQueue(config.announcement_queue_url),
        campaign_queue=SqsJobQueue(config.campaign_queue_url),
        export_queue=SqsJobQueue(config.export_queue_url),
        mailer=SesMailer(
            config.ses_configuration_set or None,
            config.ses_max_send_rate,
            config.ses_max_24_hour_send,
        ),
        pacer=DynamoSendPacer(config.table_name),
        limiter=DynamoRateLimiter(config.limits_table_name),
        seat_hint=ContainerSeatHint(),
        keys=SigningKeyRing(config.signing_keys_secret_id),
        zoom=ZoomApi(zoom_credentials, config.zoom_api_url, config.zoom_oauth_url),
        zoom_store=DynamoZoomStore(config.table_name),
        zoom_queue=SqsJobQueue(config.zoom_queue_url),
        zoom_dead_letters=SqsJobQueue(config.zoom_dead_letter_url),
        dead_letters=SqsDeadLetters(
            [url for url in config.dead_letter_queues.split(",") if url.strip()]
        ),
        zoom_credentials=zoom_credentials,
        zoom_webhook_token=zoom_webhook_token,
    )
