"""Majlis configuration: one pydantic model, read from the environment once per process.

Every value comes from an environment variable prefixed ``MAJLIS_`` (``table_name`` from
``MAJLIS_TABLE_NAME``). In AWS, ``.chalice/config.json`` and the packaged template set
them (see ``infra/resources.yaml``); locally ``python -m infra.local`` sets them from
the resources it creates in moto. (A plain model rather than pydantic-settings: that
package costs some 60 ms of every cold start, asyncio included, for six variables.)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, model_validator

PREFIX = "MAJLIS_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = "dev"
    # Set for every function of a packaged stage (infra/resources.yaml's Globals): then
    # the public address and the Zoom origins must be https ones people can reach.
    deployed: bool = False
    table_name: str = "majlis"
    limits_table_name: str = "majlis-limits"
    mail_queue_url: str = ""  # transactional mail: confirmations, notices, reminders
    announcement_queue_url: str = ""  # announcements, behind the transactional mail
    campaign_queue_url: str = ""
    export_queue_url: str = ""
    export_bucket: str = ""
    signing_keys_secret_id: str = "majlis/signing-keys"  # noqa: S105 - a name, not a key
    ses_configuration_set: str = "majlis"
    # Warn on PUT /events when the sender is not a verified SES identity (off locally,
    # where the embedded SES treats every sender as verified).
    check_sender_identity: bool = True
    # Base URL of the public API, used to build links in emails.
    public_base_url: str = "http://127.0.0.1:8000"
    # Per client address and minute (usecases/limits.py): registrations posted, and links
    # refused for a bad signature.
    registrations_per_minute: int = 300
    refused_links_per_minute: int = 30
    lost_links_per_minute: int = 10  # "lost your links?" requests
    confirms_per_minute: int = 30  # double opt-in confirmations (a family, an office)
    # What a registration's proof of work costs a browser (chalicelib/challenges.py):
    # about this many PBKDF2 derivations of this many iterations each.
    challenge_cost: int = 1_000
    challenge_counter: int = 2_000
    # How long a Lambda container trusts its cached copy of an event's settings.
    event_cache_seconds: float = 30.0
    # A registrant re-registering gets their email again at most this often.
    resend_interval_seconds: int = 600
    # The SES quota to pace by instead of the account's (0: read it from SES); for an
    # account shared with other senders, or for local mode's embedded SES.
    ses_max_send_rate: float = 0
    ses_max_24_hour_send: float = 0
    # A send record claimed by a worker that died is taken over after this long: long
    # enough for SES's Send event to complete it if the email did leave (delivery.py).
    send_lease_seconds: int = 900
    # Zoom: where its API is, the secret with its credentials, and our own budget of add
    # requests per registrant and session a day (Zoom refuses a fourth).
    zoom_queue_url: str = ""
    zoom_dead_letter_url: str = ""
    # Every dead-letter queue's URL, comma-separated (the console counts what they hold).
    dead_letter_queues: str = ""
    zoom_secret_id: str = "majlis/zoom"  # noqa: S105 - a name, not a secret
    zoom_webhook_secret_id: str = "majlis/zoom-webhook"  # noqa: S105 - a name
    zoom_api_url: str = "https://api.zoom.us/v2"
    zoom_oauth_url: str = "https://zoom.us/oauth/token"
    zoom_adds_per_day: int = 2
    # Where a person's own Zoom join URL may lead (comma-separated origins; a host under
    # one counts): one from Zoom's answers or webhooks elsewhere is not followed.
    zoom_join_urls: str = "https://zoom.us,https://zoomgov.com"

    @model_validator(mode="after")
    def _reachable_when_deployed(self) -> Settings:
        if not self.deployed:
            return self
        for name in ("public_base_url", "zoom_join_urls", "zoom_api_url", "zoom_oauth_url"):
            for url in getattr(self, name).split(","):
                problem = unreachable(url.strip())
                if problem:
                    raise ValueError(f"MAJLIS_{name.upper()} {problem}: refusing to start")
        return self

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls.model_validate(
            {k.removeprefix(PREFIX).lower(): v for k, v in environ.items() if k.startswith(PREFIX)}
        )


@functools.cache
def settings() -> Settings:
    return Settings.from_environment()


def unreachable(url: str) -> str:
    """Why people on the internet could not be sent to ``url`` (an origin), or ""."""
    if not url:
        return "is not set"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises
    except ValueError:
        return f"is not a URL ({url!r})"
    if parts.scheme != "https":
        return f"must be https, not {parts.scheme or 'none'} ({url!r})"
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username or parts.query or parts.fragment:
        return f"must be an https origin ({url!r})"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return f"names a host of this machine or network ({host})"
    import ipaddress  # here: only a deployed stage's start asks

    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return ""
    if not address.is_global:
        return f"names an address people cannot reach ({host})"
    return ""
