"""Local mode: all of Majlis on one machine, on embedded AWS (see API.md's contract).

:class:`LocalMajlis` starts moto, creates the resources of ``infra/resources.yaml``,
sets the environment the functions get in AWS (``.chalice/config.json`` plus the
template's additions), seeds the demo event, mints an organizer token, starts the event
pump and serves the API with Chalice's local server. ``make run`` runs it in the
foreground (``python -m infra.local``); the end-to-end tests start it on free ports.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from infra import PROJECT_DIR, resources_of_type, template
from infra.local.demo import EVENT_ID, demo_event
from infra.local.embedded import EmbeddedAws
from infra.local.gateway import chalice_config, local_server
from infra.local.provision import Provisioner
from infra.local.pump import Pump
from infra.local.state import load_table, save_table
from infra.local.zoom import ZoomStandIn

# The webhook secret token of local mode's Zoom app (ZOOM_WEBHOOK_SECRET_TOKEN overrides).
DEFAULT_WEBHOOK_SECRET = "majlis-local-webhook-secret"  # noqa: S105 - local mode only
PRO_PLAN = {"light": 30, "medium": 20, "heavy": 10}  # Zoom's per-second limits, Pro plan


@dataclass
class LocalMajlis:
    root: Path = PROJECT_DIR / ".local"
    host: str = "127.0.0.1"
    port: int = 8000
    aws_port: int = 0
    stage: str = "dev"
    keep_state: bool = True
    webhook_secret: str = field(
        default_factory=lambda: os.environ.get("ZOOM_WEBHOOK_SECRET_TOKEN", DEFAULT_WEBHOOK_SECRET)
    )
    errors: list[tuple[str, BaseException]] = field(default_factory=list)

    def start(self) -> LocalMajlis:
        self.root.mkdir(parents=True, exist_ok=True)
        self.outbox = self.root / "outbox"
        self.aws = EmbeddedAws(self.aws_port, outbox=self.outbox)
        self.aws_endpoint = self.aws.start()
        provisioner = Provisioner(os.environ["AWS_DEFAULT_REGION"])
        self.outputs = provisioner.create_all()
        self.table = provisioner.refs["Table"]
        if self.keep_state:
            load_table(self.table, self._state_file)
        self.app_module = importlib.import_module("app")
        self.server = local_server(self.app_module.app, self.host, self.port, self.stage)
        self.port = self.server.port = self.server.server.server_address[1]
        self.server.server.outbox = self.outbox  # served at /_outbox/
        self.zoom = ZoomStandIn(
            webhook_secret_token=self.webhook_secret,
            webhook_url=f"{self.url}/webhooks/zoom",
            rate_limits=PRO_PLAN,
        )
        self.zoom_url = self.zoom.start(self.host)
        self._zoom_credentials(provisioner)
        self._set_environment(provisioner)
        self.majlis = self._fresh_wiring()
        self._seed()
        self.pump = Pump(
            self.app_module,
            stream_arn=provisioner.attributes["Table"]["StreamArn"],
            queue_urls={
                resource["Properties"]["QueueName"]: provisioner.refs[logical_id]
                for logical_id, resource in resources_of_type("AWS::SQS::Queue").items()
            },
            on_error=lambda where, error: self.errors.append((where, error)),
        )
        self.pump.start()
        self._serving = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._serving.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.pump.stop()
        self.zoom.stop()
        if self.keep_state:
            save_table(self.table, self._state_file)
        self.aws.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def _state_file(self) -> Path:
        return self.root / "state" / "table.jsonl"

    def _zoom_credentials(self, provisioner: Provisioner) -> None:
        """The stand-in's app credentials, where the Zoom secret is in AWS."""
        provisioner.client("secretsmanager").put_secret_value(
            SecretId=provisioner.refs["ZoomCredentials"],
            SecretString=json.dumps(
                {
                    "account_id": self.zoom.account_id,
                    "client_id": self.zoom.client_id,
                    "client_secret": self.zoom.client_secret,
                    "webhook_secret_token": self.webhook_secret,
                }
            ),
        )

    def _set_environment(self, provisioner: Provisioner) -> None:
        """The environment the functions get in AWS: config.json, then the template's."""
        env: dict[str, Any] = dict(chalice_config(self.stage).environment_variables)
        for resource in template()["Resources"].values():
            if "Type" not in resource:  # a completion of one of Chalice's functions
                variables = resource.get("Properties", {}).get("Environment", {})
                env.update(provisioner.resolve(variables.get("Variables", {})))
        env.update(
            MAJLIS_CHECK_SENDER_IDENTITY="false",
            MAJLIS_PUBLIC_BASE_URL=self.url,
            MAJLIS_ZOOM_API_URL=self.zoom.api_url,
            MAJLIS_ZOOM_OAUTH_URL=self.zoom.oauth_url,
            # The embedded SES reports a new account's sandbox quota (1 email a second,
            # 200 a day); local mode sends as a production account would.
            MAJLIS_SES_MAX_SEND_RATE=os.environ.get("MAJLIS_SES_MAX_SEND_RATE", "50"),
            MAJLIS_SES_MAX_24_HOUR_SEND=os.environ.get("MAJLIS_SES_MAX_24_HOUR_SEND", "1000000"),
        )
        os.environ.update({k: str(v) for k, v in env.items()})

    def _fresh_wiring(self) -> Any:
        from chalicelib import bootstrap, config
        from chalicelib.adapters import aws

        config.settings.cache_clear()
        aws.client.cache_clear()
        bootstrap.use(None)
        return bootstrap.services()

    def _seed(self) -> None:
        from chalicelib import auth
        from chalicelib.usecases.events import put_event

        put_event(self.majlis, EVENT_ID, demo_event(zoom_url=self.zoom_url))
        self.organizer_token = auth.mint(
            self.majlis.tokens,
            events=["*"],
            roles=list(auth.ROLES),
            label="local mode",
            now=self.majlis.clock(),
            valid_for=timedelta(days=30),
        )
        token_file = self.root / "organizer-token"
        token_file.write_text(self.organizer_token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
