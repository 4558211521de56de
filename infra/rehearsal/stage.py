"""The production stage stood up for a rehearsal: AWS, the stack, the functions.

:class:`Stage` takes a packaged build (``make package STAGE=prod``), stands its
template up on :class:`~infra.rehearsal.aws.RehearsalAws` as the operator, does the
operator's steps (the sender's SES identity, an organizer token), and then runs every
function from the bundle with its own role's credentials, IAM enforced, fed by the
template's event sources, behind the template's API Gateway. Its clock starts at a
given moment and can jump ahead (warm containers move their clocks with it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from infra import PROJECT_DIR
from infra.local.provision import ACCOUNT_ID
from infra.local.zoom.standin import ZoomStandIn
from infra.local.zoom.webhooks import sign
from infra.rehearsal import functions
from infra.rehearsal.aws import RehearsalAws
from infra.rehearsal.functions import Pool, lambda_environment
from infra.rehearsal.gateway import Gateway, serve
from infra.rehearsal.ses import Feedback
from infra.rehearsal.sources import QueuePoller, StreamPoller
from infra.rehearsal.stack import REGION, Stack, read_template, translate
from infra.rehearsal.zoomnet import ZoomOverTls

# Containers a function may run at once here: its reserved concurrency, or fewer on a
# machine of a few cores (the functions' CPU is the machine's, not Lambda's).
MOST_CONTAINERS = {"APIHandler": 4, "MailWorker": 3, "AnnouncementWorker": 3}
# The SES account's quota out of the sandbox, as requested for the conference (per
# second, per 24 hours): what the senders pace themselves by.
SES_QUOTA = (50.0, 200_000.0)
ZOOM_JOIN_BASE = "https://us06web.zoom.us"  # where Zoom's join links lead
ZOOM_WEBHOOK_SOURCE = "170.114.0.10"  # where Zoom's webhooks come from (Zoom's range)


def drop_action(definition: dict[str, Any], spec: str) -> str:
    """Take one action out of one role's policies (``Role:service:Action``)."""
    role, action = spec.split(":", 1)
    for policy in definition["Resources"][role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            if action in actions:
                statement["Action"] = [a for a in actions if a != action] or ["none:NoAction"]
                return statement.get("Sid", "")
    raise ValueError(f"{role} is not granted {action}")


@dataclass(frozen=True)
class Usage:
    calls: dict[Any, Any]
    functions: dict[str, Any]
    api_requests: int
    writes: dict[Any, Any]  # DynamoDB's write units by (who, table)


class Clock:
    """The rehearsal's wall clock: real seconds from a virtual start, with jumps."""

    def __init__(self, start: datetime) -> None:
        self._offset = start.timestamp() - time.time()
        self.jumped = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    def timestamp(self) -> float:
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def jump_to(self, moment: datetime) -> None:
        ahead = moment.timestamp() - self.timestamp()
        if ahead < 0:
            raise ValueError(f"the clock does not go back ({moment:%Y-%m-%d %H:%M} is past)")
        self._offset += ahead
        self.jumped += ahead


class Stage:
    def __init__(
        self,
        build: Path,
        work: Path,
        start: datetime,
        *,
        drop: list[str] | None = None,
        containers: dict[str, int] | None = None,
        ses_quota: tuple[float, float] = SES_QUOTA,
    ) -> None:
        self.build = build.resolve()
        self.work = work.resolve()  # the containers run elsewhere: paths must be whole
        self.clock = Clock(start)
        self.drop = drop or []
        self.ses_quota = ses_quota
        self.containers = MOST_CONTAINERS | (containers or {})
        self.outbox = work / "outbox"
        self.errors: list[tuple[str, str]] = []
        self.pools: dict[str, Pool] = {}
        self.pollers: list[Any] = []
        self.credentials: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.timings: dict[str, float] = {}
        self._stopped = False

    # -- standing it up -------------------------------------------------------------

    def start(self) -> Stage:
        began = time.perf_counter()
        print("· standing the stage up", flush=True)
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # API Gateway's logging role
        self.aws = RehearsalAws(self.outbox)
        self.endpoint = self.aws.start()
        self.aws.clock = self.clock.timestamp
        self.aws.send_quota = self.ses_quota
        operator = self.aws.operator
        os.environ.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=operator["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=operator["aws_secret_access_key"],
            AWS_DEFAULT_REGION="us-east-1",
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        self.sam = read_template(self.build)
        self.definition = translate(self.sam)
        for spec in self.drop:
            drop_action(self.definition, spec)
        self.stack = Stack(self.definition)
        self.outputs = self.stack.create_all()
        self.public_url = self.stack.parameters["PublicBaseUrl"]
        self.timings["provision_s"] = time.perf_counter() - began
        self._operator_steps()
        self.bundle = self._unzip()
        self._start_zoom()
        self.clock_lib = functions.clock_library(self.work / "clock")
        for function in self.stack.functions.values():
            self.credentials[function.logical_id] = self.aws.assume(
                function.role_arn, function.logical_id
            )
        self.gateway_role = self.aws.assume(
            self.stack.attributes["ApiGatewayLogsRole"]["Arn"], "ApiGateway"
        )
        self.aws.enforce(True)  # from here on, every call is signed by a role and judged
        for function in self.stack.functions.values():
            size = min(function.reserved or 1, self.containers.get(function.logical_id, 1))
            self.pools[function.logical_id] = Pool(
                function, self.bundle, self._environment(function), self.work / "logs", size
            )
        self.gateway = Gateway(
            self.stack.api,
            self.pools["APIHandler"],
            self.pools["OrganizerToken"],
            urlsplit(self.public_url).hostname or "",
            now=self.clock.timestamp,
        )
        self.feedback = Feedback(
            self.aws.client("sns"),
            self.stack.refs["SesEventsTopic"],
            self.stack.refs["ConfigurationSet"],
        )
        self.http, self.http_url = serve(self.gateway, ZOOM_WEBHOOK_SOURCE)
        self.zoom.webhook_url = f"{self.http_url}/webhooks/zoom"
        self._start_sources()
        self.timings["start_s"] = time.perf_counter() - began
        return self

    def _start_zoom(self) -> None:
        """Zoom's API (the stand-in, with a Pro account's rate limits) where the functions
        look for it, at https://api.zoom.us, and the app's credentials in its secret."""
        self.zoom = ZoomStandIn(
            webhook_secret_token=self.zoom_webhook_token,
            join_base=ZOOM_JOIN_BASE,
            clock=self.clock.timestamp,
        )
        self.zoom.start()
        self.zoom_tls = ZoomOverTls(self.zoom, self.work / "zoom").start()
        self.aws.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["ZoomCredentials"],
            SecretString=json.dumps(
                {
                    "account_id": self.zoom.account_id,
                    "client_id": self.zoom.client_id,
                    "client_secret": self.zoom.client_secret,
                }
            ),
        )

    def _operator_steps(self) -> None:
        """What an operator does once after the first deploy (README, Deploying)."""
        sender_domain = "example.org"
        self.aws.client("sesv2").create_email_identity(EmailIdentity=sender_domain)
        self.zoom_webhook_token = secrets.token_urlsafe(24)
        self.aws.client("secretsmanager").put_secret_value(
            SecretId=self.stack.refs["ZoomWebhookSecret"],
            SecretString=json.dumps({"secret_token": self.zoom_webhook_token}),
        )
        self.organizer_token = self.cli(
            "mint-token",
            "--event",
            "*",
            "--role",
            "read",
            "--role",
            "send",
            "--role",
            "admin",
            "--label",
            "rehearsal organiser",
            "--days",
            "30",
        ).strip()

    def cli(self, *args: str) -> str:
        """``python -m chalicelib.cli`` as an operator runs it, with the API's settings."""
        env = dict(os.environ) | self.stack.functions["APIHandler"].environment
        env |= {"MAJLIS_DEPLOYED": "false", "PYTHONPATH": str(PROJECT_DIR)}
        done = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "chalicelib.cli", *args],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"chalicelib.cli {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def _unzip(self) -> Path:
        bundle = self.work / "bundle"
        if not bundle.exists():
            with zipfile.ZipFile(self.build / "deployment.zip") as archive:
                archive.extractall(bundle)
        return bundle.resolve()

    def _environment(self, function: Any) -> dict[str, str]:
        return self.zoom_tls.environment() | lambda_environment(
            function,
            self.endpoint,
            self.credentials[function.logical_id],
            self.bundle,
            clock=(self.clock.offset, self.clock_lib),
        )

    def _start_sources(self) -> None:
        for mapping in self.stack.mappings:
            pool = self.pools[mapping.function]
            creds = self.credentials[mapping.function]
            if ":sqs:" in mapping.source_arn:
                url = next(
                    a["QueueUrl"]
                    for a in self.stack.attributes.values()
                    if a.get("Arn") == mapping.source_arn
                )
                poller: Any = QueuePoller(
                    mapping, pool, self.aws.client("sqs", creds), url, self._error
                ).start()
            else:
                failure = next(
                    a["QueueUrl"]
                    for a in self.stack.attributes.values()
                    if a.get("Arn") == mapping.on_failure
                )
                poller = StreamPoller(
                    mapping,
                    pool,
                    self.aws.client("dynamodbstreams", creds),
                    self.aws.client("sqs", creds),
                    failure,
                    self._error,
                ).start()
            self.pollers.append(poller)

    def _error(self, where: str, what: str) -> None:
        with self._lock:
            self.errors.append((where, what))

    # -- running it ------------------------------------------------------------------

    def fire(self, function: str) -> Any:
        """A schedule's event for ``function``, now on the rehearsal's clock."""
        (schedule,) = [s for s in self.stack.schedules if s.function == function]
        answer = self.pools[function].invoke(
            {
                "version": "0",
                "id": os.urandom(8).hex(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": "us-east-1",
                "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{schedule.function}"],
                "detail": {},
            }
        )
        if answer.error:
            self._error(function, answer.error)
        return answer.result

    def jump_to(self, moment: datetime) -> None:
        """The clock to ``moment``: every function's with it, warm or cold."""
        self.settle()
        self.clock.jump_to(moment)
        for pool in self.pools.values():
            pool.recycle(self._environment(pool.function), self.clock.offset)
        self.gateway.forget_authorizations()

    def restart(self) -> None:
        """A deploy: every function's containers end; the next invocation starts cold."""
        for pool in self.pools.values():
            pool.recycle(self._environment(pool.function))

    def queues_empty(self) -> bool:
        sqs = self.aws.client("sqs")
        for attributes in self.stack.attributes.values():
            url = attributes.get("QueueUrl")
            if not url or url.endswith("-dlq") or "failures" in url:
                continue
            counts = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            if any(int(v) for v in counts.values()):
                return False
        return True

    def settle(self, most_s: float = 600.0) -> float:
        """Wait until nothing is left to do: queues empty, the stream read, SES's events
        published and handled; the seconds it took.

        SQS keeps a message a function failed (or was killed on) out of sight for its
        visibility timeout, in real seconds. When nothing else is left, the rehearsal
        lets that time pass at once: those messages are made visible again."""
        began = time.monotonic()
        quiet = 0
        while quiet < 4:  # four looks in a row, longer than a poller idles
            if time.monotonic() - began > most_s:
                raise TimeoutError(f"the stage did not settle within {most_s:.0f} s")
            new = self.aws.sent_since(self.feedback.seen)
            published = self.feedback.publish(new, self.clock.now())
            busy = published or any(p.in_flight for p in self.pollers)
            busy = busy or not all(p.caught_up for p in self.pollers if isinstance(p, StreamPoller))
            if busy:
                quiet = 0
            elif not self.queues_empty():
                quiet = 0
                self._let_visibility_pass()
            else:
                quiet += 1
            time.sleep(0.1)
        return time.monotonic() - began

    def _let_visibility_pass(self) -> None:
        sqs = self.aws.client("sqs")
        for poller in self.pollers:
            if not isinstance(poller, QueuePoller):
                continue
            for receipt in poller.take_held():
                with contextlib.suppress(ClientError):  # deleted or received again since
                    sqs.change_message_visibility(
                        QueueUrl=poller.url, ReceiptHandle=receipt, VisibilityTimeout=0
                    )

    def zoom_joins(self, session: dict[str, Any], addresses: list[str], rng: Any) -> int:
        """Zoom tells of ``addresses`` joining ``session``: in a shuffled order, and one
        in ten of those webhooks delivered a second time; how many were delivered."""
        before = len(self.zoom.webhooks_sent)
        addresses = list(addresses)
        rng.shuffle(addresses)
        zoom = session["zoom"]
        for address in addresses:
            self.zoom.join(zoom["id"], email=address, kind=zoom["type"])
        self.zoom.wait_for_webhooks(60)
        delivered = self.zoom.webhooks_sent[before:]
        bodies = [d["body"] for d in delivered if d["attempt"] == 1]
        again = rng.sample(bodies, max(1, len(bodies) // 10)) if bodies else []
        for body in again:  # Zoom retrying a delivery it thinks failed
            stamp = str(int(self.clock.timestamp()))
            answer = self.gateway.request(
                "POST",
                "/webhooks/zoom",
                headers={
                    "Content-Type": "application/json",
                    "x-zm-request-timestamp": stamp,
                    "x-zm-signature": sign(self.zoom_webhook_token, stamp, body),
                },
                body=body,
                source_ip=ZOOM_WEBHOOK_SOURCE,
            )
            if answer.status != 200:
                self._error("zoom webhook", f"a resent webhook answered {answer.status}")
        # Zoom gives up waiting for an answer after a few seconds, and delivers again.
        answered = {d["body"] for d in delivered if d["status"] == 200}
        for _ in set(bodies) - answered:
            self._error("zoom webhook", "a delivery never answered 200")
        return len(delivered) + len(again)

    def kill_busy(self, function: str) -> int:
        return self.pools[function].kill_busy()

    # -- taking it down -----------------------------------------------------------------

    def usage(self) -> Usage:
        """What the stage has used so far: calls, invocations, API requests."""
        return Usage(
            calls=self.aws.ledger.calls,
            functions={n: dataclasses.replace(p.usage) for n, p in self.pools.items()},
            api_requests=self.gateway.counts.requests,
            writes=self.aws.writes.units,
        )

    def stop(self) -> None:
        self._stopped = True
        for poller in self.pollers:
            poller.stop()
        self.zoom_tls.stop()
        self.zoom.stop()
        self.http.shutdown()
        self.http.server_close()
        logs = {}
        self.log_bytes = 0
        for logical_id, pool in self.pools.items():
            logs[logical_id] = self.aws.client("logs", self.credentials[logical_id])
            for container in pool.close():
                try:
                    self.log_bytes += functions.ship_logs(container, logs[logical_id])
                except Exception as error:  # noqa: BLE001 - a denial is recorded by AWS
                    self._error(logical_id, f"log shipping: {error}")
        self._ship_access_log()

    def _ship_access_log(self) -> None:
        group = self.stack.api.access_log_group
        if not group or not self.gateway.access_log:
            return
        logs = self.aws.client("logs", self.gateway_role)
        stream = f"rehearsal-{datetime.now(UTC):%Y%m%d%H%M%S}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        lines = self.gateway.access_log
        for start in range(0, len(lines), 5_000):
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": now, "message": m} for m in lines[start : start + 5_000]],
            )
        self.log_bytes += sum(len(m) + 26 for m in lines)

    def close(self) -> None:
        """Stop what still runs: after :meth:`stop`, AWS; after a start or a conference
        that failed midway, whatever had started."""
        if not self._stopped:
            for poller in self.pollers:
                poller.stop()
            for pool in self.pools.values():
                pool.close()
            for part in ("zoom_tls", "zoom"):
                if hasattr(self, part):
                    getattr(self, part).stop()
        if hasattr(self, "aws"):
            self.aws.stop()
