"""Local mode: all of Majlis on one machine, on embedded AWS (see API.md's contract).

:class:`LocalMajlis` starts moto, creates the resources of ``infra/resources.yaml``,
sets the environment the functions get in AWS (``.chalice/config.json`` plus the
template's additions), seeds the demo event, mints an organizer token, starts the event
pump in a process of its own (``pump_process.py``) and serves the API with Chalice's
local server. ``make run`` runs it in the foreground (``python -m infra.local``); the
end-to-end tests start it on free ports.

With ``keep_state`` (``make run``), what a restart must not forget is kept under
``.local/state/`` (see ``state.py``): the table, the link-signing keys and the Zoom
stand-in's account and port. So every link in an email sent before a restart still
works: the keys that signed it are put back before anything checks a link, and the
Zoom join URLs it leads to answer at the stand-in's address. The stand-in starts on
its last port; when that port is taken, it starts on another and the stored join URLs
are re-pointed to it as the table is put back. The demo event is seeded when the
table has none (a fresh ``.local``), and kept as it is otherwise. The API's address is
written to ``.local/address``, where the organisers' command line finds it.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra import PROJECT_DIR, resources_of_type, template
from infra.local.demo import EVENT_ID, demo_event
from infra.local.embedded import EmbeddedAws
from infra.local.gateway import chalice_config, local_server
from infra.local.provision import Provisioner
from infra.local.pump import concurrency
from infra.local.pump_process import PumpProcess
from infra.local.state import load_table, read_json, save_table, write_json, write_private
from infra.local.zoom import ZoomStandIn

# The webhook secret token of local mode's Zoom app (ZOOM_WEBHOOK_SECRET_TOKEN overrides).
DEFAULT_WEBHOOK_SECRET = "majlis-local-webhook-secret"  # noqa: S105 - local mode only
# The console's admin in local mode, on every event (its sign-in link is printed).
LOCAL_ADMIN = "organizer@example.com"
PRO_PLAN = {"light": 30, "medium": 20, "heavy": 10}  # Zoom's per-second limits, Pro plan
# On a clean stop, how long webhooks on their way to Majlis get before the API stops (the
# ones still undelivered are kept with the stand-in's state and sent after the restart).
WEBHOOK_FLUSH_SECONDS = 2.0


class LocalModeError(Exception):
    """Why local mode cannot start, in one line a person can act on."""


class PortInUse(LocalModeError):
    pass


@contextlib.contextmanager
def _listening(port: int, variable: str, *, of: str = "", busy: str = "") -> Iterator[None]:
    """Turn a port that cannot be listened on into one line naming it and the way out:
    ``port {port}{of} is already in use{busy}: …, e.g. {variable}={port + 1} make run``."""
    try:
        yield
    except OSError as error:
        other = port + 1 if 0 < port < 65535 else 8001
        choose = f"choose another port, e.g. {variable}={other} make run"
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port}{of} is already in use{busy}: stop what uses it, or {choose}"
            ) from None
        if error.errno in (errno.EACCES, errno.EADDRNOTAVAIL):
            raise LocalModeError(
                f"cannot listen on port {port}{of} ({error.strerror}): {choose}"
            ) from None
        raise


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
        """Start everything; on any failure, stop what had started and raise."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.outbox = self.root / "outbox"
        self.previous_url = self._read_address()
        self.aws: EmbeddedAws | None = None
        self.server: Any = None
        self.zoom: ZoomStandIn | None = None
        self.pump: PumpProcess | None = None
        self._serving: threading.Thread | None = None
        try:
            self._start()
        except BaseException:
            self._abandon()
            raise
        return self

    def _start(self) -> None:
        self.aws = EmbeddedAws(self.aws_port, outbox=self.outbox)
        with _listening(self.aws_port, "MAJLIS_AWS_PORT", of=" for the embedded AWS"):
            self.aws_endpoint = self.aws.start()
        provisioner = Provisioner(os.environ["AWS_DEFAULT_REGION"])
        self.outputs = provisioner.create_all()
        self.table = provisioner.refs["Table"]
        self._signing_keys(provisioner)  # before anything signs or checks a link
        self.app_module = importlib.import_module("app")
        with _listening(self.port, "PORT", busy=" (another make run?)"):
            self.server = local_server(self.app_module.app, self.host, self.port, self.stage)
        self.port = self.server.port = self.server.server.server_address[1]
        self.server.server.outbox = self.outbox  # served at /_outbox/
        kept_zoom = self._read_state(self._zoom_file) if self.keep_state else None
        if kept_zoom is not None and not isinstance(kept_zoom.get("base_url"), str):
            raise self._damaged(self._zoom_file, "is not the Zoom stand-in's state")
        self.zoom = ZoomStandIn(
            webhook_secret_token=self.webhook_secret,
            webhook_url=f"{self.url}/webhooks/zoom",
            rate_limits=PRO_PLAN,
        )
        self.zoom_url = self._start_zoom(kept_zoom)
        self.restored = 0
        if self.keep_state:
            moved = {}
            if kept_zoom and kept_zoom["base_url"] != self.zoom_url:
                moved = {kept_zoom["base_url"] + "/": self.zoom_url + "/"}
            self.restored = load_table(self.table, self._state_file, rewrite=moved)
            if kept_zoom:
                try:
                    self.zoom.import_state(kept_zoom)
                except (KeyError, TypeError, ValueError) as error:
                    raise self._damaged(
                        self._zoom_file, f"cannot be imported ({error!r})"
                    ) from None
        self._zoom_credentials(provisioner)
        self._set_environment(provisioner)
        try:
            at_once = concurrency(
                [source.name for source in self.app_module.app.event_sources], self.stage
            )
        except ValueError as error:
            raise LocalModeError(str(error)) from None
        self.pump = PumpProcess(on_error=lambda where, error: self.errors.append((where, error)))
        self.pump.spawn()  # it imports the functions while the demo is seeded
        self.majlis = self._fresh_wiring()
        self._seed()
        self.pump.start(  # from the stream's newest records: what the seeding wrote is not work
            stream_arn=provisioner.attributes["Table"]["StreamArn"],
            queue_urls={
                resource["Properties"]["QueueName"]: provisioner.refs[logical_id]
                for logical_id, resource in resources_of_type("AWS::SQS::Queue").items()
            },
            concurrency=at_once,
        )
        self._serving = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._serving.start()
        (self.root / "address").write_text(self.url + "\n", encoding="utf-8")

    def stop(self) -> None:
        """Stop everything; with ``keep_state``, save the table, keys and Zoom's account."""
        if self.keep_state:  # webhooks on their way reach Majlis while it still answers
            self.zoom.wait_for_webhooks(WEBHOOK_FLUSH_SECONDS)
        self.server.shutdown()
        self.server.server.server_close()
        self.pump.stop()
        self.zoom.stop()
        if self.keep_state:
            save_table(self.table, self._state_file)
            write_json(self._zoom_file, self.zoom.export_state())
            self._save_signing_keys()
        self.aws.stop()

    def _abandon(self) -> None:
        """After a failed start: stop what had started, keep the saved state as it was."""
        with contextlib.suppress(Exception):
            if self.pump is not None:
                self.pump.stop()
        with contextlib.suppress(Exception):
            if self.server is not None:
                if self._serving is not None:
                    self.server.shutdown()
                self.server.server.server_close()
        with contextlib.suppress(Exception):
            if self.zoom is not None:
                self.zoom.stop()
        with contextlib.suppress(Exception):
            if self.aws is not None:
                self.aws.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def demo_kept(self) -> bool:
        """Whether the demo event came back with the kept table (else it was seeded now)."""
        return not self.demo_seeded

    @property
    def _state_file(self) -> Path:
        return self.root / "state" / "table.jsonl"

    @property
    def _keys_file(self) -> Path:
        return self.root / "state" / "signing-keys.json"

    @property
    def _zoom_file(self) -> Path:
        return self.root / "state" / "zoom.json"

    def _read_address(self) -> str | None:
        with contextlib.suppress(OSError):
            return (self.root / "address").read_text(encoding="utf-8").strip() or None
        return None

    @staticmethod
    def _damaged(path: Path, what: str) -> LocalModeError:
        return LocalModeError(
            f"{path} {what}: move it away to start without it (links in emails sent "
            "before then may stop working)"
        )

    def _read_state(self, path: Path) -> Any:
        try:
            found = read_json(path)
        except (OSError, ValueError) as error:
            raise self._damaged(path, f"cannot be read ({error})") from None
        if found is not None and not isinstance(found, dict):
            raise self._damaged(path, "is not what local mode wrote")
        return found

    def _signing_keys(self, provisioner: Provisioner) -> None:
        """The link-signing keys of the last run, else the ones just generated, kept."""
        self._secrets = provisioner.client("secretsmanager")
        self._keys_secret_id = provisioner.refs["SigningKeys"]
        if not self.keep_state:
            return
        kept = self._read_state(self._keys_file)
        if kept is None:
            self._save_signing_keys()
            return
        if not isinstance(kept.get(str(kept.get("active"))), str):
            raise self._damaged(self._keys_file, "holds no active signing key")
        self._secrets.put_secret_value(SecretId=self._keys_secret_id, SecretString=json.dumps(kept))

    def _save_signing_keys(self) -> None:
        secret = self._secrets.get_secret_value(SecretId=self._keys_secret_id)["SecretString"]
        write_private(self._keys_file, secret + "\n")

    def _start_zoom(self, kept: dict[str, Any] | None) -> str:
        """The stand-in on its last port when that is free, else on any free port."""
        assert self.zoom is not None
        try:
            port = urlsplit(kept["base_url"]).port if kept else None
        except ValueError:
            port = None  # then any port, and the stored join URLs follow it
        if port:
            try:
                return self.zoom.start(self.host, port)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
        return self.zoom.start(self.host, 0)

    def _zoom_credentials(self, provisioner: Provisioner) -> None:
        """The stand-in's app credentials and webhook secret token, in the Zoom secrets
        as an operator puts them in AWS."""
        secrets = provisioner.client("secretsmanager")
        secrets.put_secret_value(
            SecretId=provisioner.refs["ZoomCredentials"],
            SecretString=json.dumps(
                {
                    "account_id": self.zoom.account_id,
                    "client_id": self.zoom.client_id,
                    "client_secret": self.zoom.client_secret,
                }
            ),
        )
        secrets.put_secret_value(
            SecretId=provisioner.refs["ZoomWebhookSecret"],
            SecretString=json.dumps({"secret_token": self.webhook_secret}),
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
            MAJLIS_ZOOM_JOIN_URLS=self.zoom_url,  # the stand-in's join URLs are its own
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
        """The demo event, once (a kept table has it, as it was), and a fresh token."""
        from chalicelib import auth
        from chalicelib.usecases.events import put_event

        self.demo_seeded = self.majlis.events.get(EVENT_ID) is None
        if self.demo_seeded:
            put_event(self.majlis, EVENT_ID, demo_event(zoom_url=self.zoom_url))
        self.organizer_token = auth.mint(
            self.majlis.tokens,
            events=["*"],
            roles=list(auth.ROLES),
            label="local mode",
            now=self.majlis.clock(),
            valid_for=timedelta(days=30),
        )
        write_private(self.root / "organizer-token", self.organizer_token + "\n")
        self.console_link = self._local_admin()

    def _local_admin(self) -> str:
        """A sign-in link to the console for local mode's admin, on every event."""
        from chalicelib.domain.organizers import EVERY_EVENT
        from chalicelib.usecases import console

        _, link = console.invite(self.majlis, EVERY_EVENT, LOCAL_ADMIN, "admin", "local mode")
        return f"{self.url}/console/signin/{console.sign_in_token(self.majlis, link)}"
