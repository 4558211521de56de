"""Majlis configuration: one pydantic-settings model, read once per process.

Every value comes from an environment variable prefixed ``MAJLIS_``. In AWS the
packaged CloudFormation template sets them (see ``infra/resources.yaml``); locally
``python -m infra.local`` sets them from the resources it creates in moto.
"""

from __future__ import annotations

import functools

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAJLIS_", frozen=True)

    stage: str = "dev"
    table_name: str = "majlis"
    mail_queue_url: str = ""
    signing_keys_secret_id: str = "majlis/signing-keys"  # noqa: S105 - a name, not a key
    ses_configuration_set: str = "majlis"
    # Warn on PUT /events when the sender is not a verified SES identity (off locally,
    # where the embedded SES treats every sender as verified).
    check_sender_identity: bool = True
    # Base URL of the public API, used to build links in emails.
    public_base_url: str = "http://127.0.0.1:8000"
    # How long a Lambda container trusts its cached copy of an event's settings.
    event_cache_seconds: float = 30.0
    # A registrant re-registering gets their email again at most this often.
    resend_interval_seconds: int = 600
    # A send record claimed by a worker that died is taken over after this long.
    send_lease_seconds: int = 120


@functools.cache
def settings() -> Settings:
    return Settings()
