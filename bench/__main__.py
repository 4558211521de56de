"""`make bench`: Majlis's figures, each beside a floor measured in the same run.

This machine is shared and noisy, so every figure is a median with its min–max over
repeated runs, and is read as a ratio to its floor rather than in absolute time.
Results go to the terminal and to bench/results.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"


def _spread(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def _fresh_interpreter_seconds(code: str, runs: int) -> list[float]:
    """Seconds a new interpreter spends in ``code`` (process start-up not included)."""
    program = (
        f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    )
    # The environment Lambda gives the functions (.chalice/config.json) applies to both.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**os.environ, **config["environment_variables"], "PYTHONDONTWRITEBYTECODE": "1"}
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", program],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return samples


def import_time(runs: int = 9) -> dict[str, Any]:
    floor = _fresh_interpreter_seconds("import chalice, boto3", runs)
    majlis = _fresh_interpreter_seconds("import app", runs)
    return {
        "floor": {"what": "import chalice, boto3", **_spread(floor)},
        "figure": {"what": "import app", **_spread(majlis)},
        "ratio": statistics.median(majlis) / statistics.median(floor),
    }


def _timed(action: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def _aws_in_process() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        MAJLIS_CHECK_SENDER_IDENTITY="false",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from infra.local.embedded import install_faithful_dynamodb

    install_faithful_dynamodb()  # as local mode runs it: no whole-table copy per transaction


def request_path(runs: int = 200) -> dict[str, Any]:
    """AWS calls and handler time of POST /registrations, on moto in this process."""
    _aws_in_process()
    from moto import mock_aws

    with mock_aws():
        import app
        from chalicelib import bootstrap, config
        from chalicelib.adapters.aws import client
        from chalicelib.usecases.events import put_event
        from infra.local.gateway import problem_client
        from infra.local.provision import Provisioner
        from tests.builders import event_body, person, zoom_base_for

        outputs = Provisioner("us-east-1").create_all()
        os.environ["MAJLIS_MAIL_QUEUE_URL"] = outputs["MailQueueUrl"]
        config.settings.cache_clear()
        wired = bootstrap.majlis()
        opened = {"opens_at": "2020-01-01T00:00:00Z"}
        for event_id, capacity in (("bench", None), ("full", 0)):
            body = event_body(zoom_base_for(event_id), registration=opened, capacity=capacity)
            put_event(wired, event_id, body)
        calls: list[str] = []
        for service in ("dynamodb", "sqs", "sesv2"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.append(model.name)
            )
        counter = iter(range(10**9))

        with problem_client(app.app) as api:

            def register(event_id: str, email: str) -> int:
                response = api.http.post(
                    f"/events/{event_id}/registrations",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps(person(1, email=email)),
                )
                return response.status_code

            def measure(event_id: str, fresh: bool) -> tuple[list[str], list[float]]:
                register(event_id, "warm@example.org")  # event cached, full event learnt
                register(event_id, "warm2@example.org")
                calls.clear()
                register(
                    event_id, f"probe{next(counter)}@example.org" if fresh else "warm@example.org"
                )
                one_request = list(calls)
                samples = _timed(
                    lambda: register(
                        event_id,
                        f"p{next(counter)}@example.org" if fresh else "warm@example.org",
                    ),
                    runs,
                )
                return one_request, samples

            new_calls, new_times = measure("bench", fresh=True)
            duplicate_calls, duplicate_times = measure("bench", fresh=False)
            waitlisted_calls, waitlisted_times = measure("full", fresh=True)

        db = client("dynamodb")
        table = config.settings().table_name

        def bare_transaction() -> None:
            n = next(counter)
            db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": f"BENCH#{n}"}, "sk": {"S": "A"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

        floor = _timed(bare_transaction, runs)
    median_floor = statistics.median(floor)
    return {
        "floor": {"what": "one bare TransactWriteItems on the same moto", **_spread(floor)},
        "new": {
            "aws_calls": new_calls,
            **_spread(new_times),
            "ratio": statistics.median(new_times) / median_floor,
        },
        "duplicate": {
            "aws_calls": duplicate_calls,
            **_spread(duplicate_times),
            "ratio": statistics.median(duplicate_times) / median_floor,
        },
        "waitlisted": {
            "aws_calls": waitlisted_calls,
            **_spread(waitlisted_times),
            "ratio": statistics.median(waitlisted_times) / median_floor,
        },
    }


_NAIVE_TEXT = (
    "Dear {{ name }},\n{% for s in sessions %}* {{ s.title }}\n  {{ s.when }}\n"
    "  {{ s.url }}\n{% endfor %}"
)
_NAIVE_HTML = (
    "<p>Dear {{ name }},</p>{% for s in sessions %}<p><b>{{ s.title }}</b><br>"
    "{{ s.when }}<br><a href='{{ s.url }}'>Join</a></p>{% endfor %}"
)


def email_cpu(emails: int = 1000) -> dict[str, Any]:
    """CPU per confirmation (render, sign links, MIME, calendar) against a naive floor."""
    from email.message import EmailMessage

    from babel.dates import format_datetime
    from jinja2 import Environment

    from chalicelib.domain.events import LANGUAGES, Event
    from chalicelib.domain.registrations import Registration, RegistrationForm
    from chalicelib.links import registration_links
    from chalicelib.mail import mime
    from chalicelib.mail.render import registration_mail
    from infra.local.demo import demo_event
    from tests.fakes import TEST_KEYS

    event = Event.model_validate({**demo_event(), "id": "demo"})
    now = event.sessions[0].starts_at
    naive_env = Environment(autoescape=True)
    naive_text, naive_html = naive_env.from_string(_NAIVE_TEXT), naive_env.from_string(_NAIVE_HTML)

    def naive(registration: Registration) -> bytes:
        sessions = [
            {
                "title": s.title_in(registration.language, event.default_language),
                "when": format_datetime(
                    s.starts_at, "full", tzinfo=registration.timezone, locale=registration.language
                ),
                "url": "https://example.org/join/x",
            }
            for s in event.sessions
        ]
        message = EmailMessage()
        message["Subject"] = event.title_in(registration.language)
        message["From"] = event.sender.email
        message["To"] = registration.email
        message.set_content(naive_text.render(name=registration.first_name, sessions=sessions))
        message.add_alternative(
            naive_html.render(name=registration.first_name, sessions=sessions), subtype="html"
        )
        return message.as_bytes()

    def majlis_email(registration: Registration) -> bytes:
        links = registration_links(TEST_KEYS, "https://register.example.org", event, registration)
        rendered = registration_mail(event, registration, links, now)
        return mime.build(
            mime.Mail(
                sender_name=event.sender.name,
                sender_address=event.sender.email,
                recipient_name=registration.full_name,
                recipient_address=registration.email,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                language=registration.language,
                sent_at=now,
                reply_to=event.reply_to,
                calendar=rendered.calendar,
            )
        )

    rows = {}
    for language in LANGUAGES:
        form = RegistrationForm.model_validate(
            {
                "email": "amina@example.org",
                "first_name": "Amina",
                "last_name": "Rahman",
                "country": "MY",
                "language": language,
                "timezone": "Asia/Kuala_Lumpur",
                "consent": True,
            },
            context={"event": event},
        )
        registration = Registration.new("01m8k4e4s39a821wjg4my0bqy9", event, form, now)
        naive(registration)
        majlis_email(registration)  # warm: catalogs, templates
        floor, figure = [], []
        for _ in range(emails):
            start = time.process_time()
            naive(registration)
            floor.append(time.process_time() - start)
            start = time.process_time()
            majlis_email(registration)
            figure.append(time.process_time() - start)
        rows[language] = {
            "floor": _spread(floor),
            "figure": _spread(figure),
            "ratio": statistics.median(figure) / statistics.median(floor),
            "sessions": len(event.sessions),
        }
    return rows


def _one_webinar(majlis: Any, event_id: str, zoom_id: str, people: int) -> list[str]:
    """An event whose one session is a webinar, and ``people`` registered for it."""
    from chalicelib.domain.events import Event
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.registrations import Registration, RegistrationForm
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body, person

    body = event_body(registration={"opens_at": "2020-01-01T00:00:00Z"}, capacity=None)
    body["sessions"] = [{**body["sessions"][0], "zoom": {"type": "webinar", "id": zoom_id}}]
    put_event(majlis, event_id, body)
    event = majlis.events.get(event_id, fresh=True)
    assert isinstance(event, Event)
    ids = []
    for n in range(people):
        fields = person(n, email=f"{event_id}{n}@example.org")
        form = RegistrationForm.model_validate(fields, context={"event": event})
        registration = Registration.new(new_id(), event, form, majlis.clock())
        majlis.registrations.add(registration, None)
        ids.append(registration.registration_id)
    return ids


def _zoom_worker(containers: list[Any], batches: list[list[str]]) -> dict[str, Any]:
    """The zoom worker draining its queue: one thread per container (the event source
    runs at most two), a batch of messages per call; what Zoom slows down comes back
    after its Retry-After, else the worker's backoff."""
    import heapq
    import threading

    from chalicelib.usecases import zoomsync
    from chalicelib.usecases.zoomworker import backoff

    ready = [(0.0, n, batch) for n, batch in enumerate(batches)]
    heapq.heapify(ready)
    lock = threading.Lock()
    totals = {"calls": 0, "synced": 0, "skipped": 0, "retried": 0, "dead": 0, "busy": 0}
    order = iter(range(len(batches), 10**9))
    start = time.perf_counter()

    def container(majlis: Any) -> None:
        while True:
            with lock:
                now = time.perf_counter() - start
                if not ready and not totals["busy"]:
                    return
                batch = heapq.heappop(ready)[2] if ready and ready[0][0] <= now else None
                totals["busy"] += batch is not None
            if batch is None:
                time.sleep(0.01)
                continue
            outcome = zoomsync.sync(majlis, batch)
            with lock:
                totals["busy"] -= 1
                totals["calls"] += outcome.calls
                totals["synced"] += outcome.synced
                totals["skipped"] += outcome.skipped
                totals["dead"] += len(outcome.dead)
                totals["retried"] += len(outcome.retry)
                # Messages made visible again together are received together.
                again: dict[int, list[str]] = {}
                for registration_id, after in outcome.retry.items():
                    again.setdefault(int(after) + 1 if after else backoff(1), []).append(
                        registration_id
                    )
                for delay, ids in again.items():
                    due = time.perf_counter() - start + delay
                    heapq.heappush(ready, (due, next(order), ids))

    threads = [threading.Thread(target=container, args=(m,)) for m in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del totals["busy"]
    return {**totals, "seconds": time.perf_counter() - start}


def _zoom_check(majlis: Any, zoom: Any, zoom_id: str, ids: list[str]) -> dict[str, Any]:
    added = [r["email"].lower() for r in zoom.registrants("webinar", zoom_id)]
    states: dict[str, int] = {}
    for registration in majlis.registrations.get_many(ids).values():
        state = registration.zoom_sync.get(registration.sessions[0], {}).get("state", "none")
        states[state] = states.get(state, 0) + 1
    return {
        "zoom_registrants": len(added),
        "duplicates": len(added) - len(set(added)),
        "most_adds_for_one_registrant": max(zoom.add_attempts(zoom_id, e) for e in added),
        "states": states,
    }


def zoom_sync(registrants: int = 5000, trickle: int = 150) -> dict[str, Any]:
    """Zoom API calls per registrant synced, and the time to fill one webinar.

    The zoom worker's sync with its real Zoom client, two containers (each with its own
    client, token and pacing), against the Zoom stand-in on loopback with the Pro plan's
    per-second limits. Registrations are kept in memory here, so that the figure is
    Zoom's side alone (table calls are counted by ``zoom_table_calls``). The floor is
    what the limits allow: batch adds are "heavy" (10 a second, 30 registrants each),
    single adds "light" (30 a second); Zoom holds 4,999 registrants a webinar.
    """
    import dataclasses

    from chalicelib.adapters.zoom import ZoomApi, ZoomCredentials
    from infra.local.runner import PRO_PLAN
    from infra.local.zoom import ZoomStandIn
    from tests.fakes import fake_majlis

    rows = {}
    with ZoomStandIn(rate_limits=PRO_PLAN) as zoom:
        credentials = ZoomCredentials(
            zoom.account_id, zoom.client_id, zoom.client_secret, zoom.webhook_secret_token
        )
        shared = fake_majlis()
        containers = [
            dataclasses.replace(
                shared, zoom=ZoomApi(lambda: credentials, zoom.api_url, zoom.oauth_url)
            )
            for _ in range(2)
        ]
        for name, people, zoom_id, per_message in (
            ("single", trickle, "85550000001", 1),  # registrations arriving one by one
            ("batched", registrants, "85550000002", 120),  # an import: the worker's batch
        ):
            ids = _one_webinar(shared, name, zoom_id, people)
            tokens = zoom.calls("token")
            batches = [ids[i : i + per_message] for i in range(0, len(ids), per_message)]
            row = _zoom_worker(containers, batches)
            row.update(_zoom_check(shared, zoom, zoom_id, ids))
            row["tokens"] = zoom.calls("token") - tokens
            row["registrants"] = people
            row["calls_per_registrant"] = row["calls"] / people
            fitting = min(people, zoom.capacity)
            calls = fitting if per_message == 1 else -(-fitting // 30)
            row["floor_seconds"] = calls / PRO_PLAN["light" if per_message == 1 else "heavy"]
            row["ratio"] = row["seconds"] / row["floor_seconds"]
            rows[name] = row
    return rows


def zoom_table_calls(registrants: int = 300) -> dict[str, Any]:
    """DynamoDB calls per registrant synced to Zoom, on moto in this process."""
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.usecases import zoomsync
    from infra.local.provision import Provisioner
    from infra.local.zoom import ZoomStandIn

    rows = {}
    with mock_aws(), ZoomStandIn() as zoom:
        provisioner = Provisioner("us-east-1")
        provisioner.create_all()
        secret = {
            "account_id": zoom.account_id,
            "client_id": zoom.client_id,
            "client_secret": zoom.client_secret,
            "webhook_secret_token": zoom.webhook_secret_token,
        }
        provisioner.client("secretsmanager").put_secret_value(
            SecretId=provisioner.refs["ZoomCredentials"], SecretString=json.dumps(secret)
        )
        os.environ.update(MAJLIS_ZOOM_API_URL=zoom.api_url, MAJLIS_ZOOM_OAUTH_URL=zoom.oauth_url)
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        calls: Counter[str] = Counter()
        client("dynamodb").meta.events.register(
            "before-call", lambda model, **_: calls.update([model.name])
        )
        for name, people, per_message in (("single", 30, 1), ("batched", registrants, 120)):
            ids = _one_webinar(majlis, name, f"8556000000{per_message % 10}", people)
            calls.clear()
            for i in range(0, len(ids), per_message):
                zoomsync.sync(majlis, ids[i : i + per_message])
            rows[name] = {
                "registrants": people,
                "per_registrant": {op: n / people for op, n in sorted(calls.items())},
                "total_per_registrant": sum(calls.values()) / people,
            }
    return rows


def _registrations(event_id: str, people: int) -> list[Any]:
    """``people`` registrations of one event, built without the request path."""
    from datetime import UTC, datetime

    from chalicelib.domain.ids import new_id
    from chalicelib.domain.registrations import Registration
    from tests.builders import person

    now = datetime(2027, 2, 1, tzinfo=UTC)
    languages = ["ar", "en", "tr", "fr", "es", "ur", "ms"]
    return [
        Registration.model_validate(
            {
                **person(n, language=languages[n % 7], email=f"p{n}@example.org"),
                "registration_id": new_id(),
                "event_id": event_id,
                "email_key": f"p{n}@example.org",
                "status": "registered",
                "sessions": ["education", "youth"],
                "source": "form",
                "created_at": now,
                "updated_at": now,
                "mail_requested_at": now,
            }
        )
        for n in range(people)
    ]


def _campaign(event_id: str) -> Any:
    from chalicelib.domain.campaigns import Audience, Campaign, Content
    from chalicelib.domain.ids import new_id

    return Campaign(
        campaign_id=new_id(),
        event_id=event_id,
        name="bench",
        audience=Audience(),
        content={
            "ar": Content(subject="إعلان {{first_name}}", text="{{sessions}}\n{{join_links}}")
        },
        created_at=datetime.now(UTC),
    )


def _fan_out_measured(majlis: Any, campaign_id: str) -> dict[str, Any]:
    import tracemalloc

    from chalicelib.usecases import campaigns

    tracemalloc.start()
    start = time.perf_counter()
    steps = 0
    while campaigns.fan_out(majlis, campaign_id, lambda: 0).outcome == "continue":
        steps += 1  # each step a fresh invocation would take, from the checkpoint
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mib": peak / 2**20, "steps": steps + 1}


def campaign_fanout(in_moto: int = 10_000, in_memory: int = 100_000) -> dict[str, Any]:
    """Fan-out of a campaign to everyone: calls per recipient, peak memory, wall time.

    At ``in_moto`` the stores are DynamoDB and SQS on moto (the calls are real calls);
    moto's index queries cost it far more than DynamoDB (its Query re-reads the whole
    index each page), so ``in_memory`` runs the same fan-out on the in-memory stores and
    counts the calls those stores stand for.
    """
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo import registration_item
    from chalicelib.domain.events import Event
    from chalicelib.usecases.events import put_event
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for
    from tests.fakes import fake_majlis

    rows: dict[str, Any] = {}
    with mock_aws():
        provisioner = Provisioner("us-east-1")
        outputs = provisioner.create_all()
        os.environ.update(
            MAJLIS_TABLE_NAME=outputs["TableName"],
            MAJLIS_MAIL_QUEUE_URL=outputs["MailQueueUrl"],
            MAJLIS_CAMPAIGN_QUEUE_URL=outputs["CampaignQueueUrl"],
        )
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        put_event(majlis, "fanout", event_body(zoom_base_for("fanout"), capacity=None))
        db = client("dynamodb")
        people = _registrations("fanout", in_moto)
        for i in range(0, len(people), 25):
            chunk = people[i : i + 25]
            db.batch_write_item(
                RequestItems={
                    outputs["TableName"]: [
                        {"PutRequest": {"Item": registration_item(r)}} for r in chunk
                    ]
                }
            )
        campaign = _campaign("fanout")
        majlis.campaigns.create(campaign)
        calls: Counter[str] = Counter()
        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        row = _fan_out_measured(majlis, campaign.campaign_id)
        row.update(
            recipients=in_moto,
            where="moto",
            per_recipient={op: n / in_moto for op, n in sorted(calls.items())},
            calls_per_recipient=sum(calls.values()) / in_moto,
        )
        rows[str(in_moto)] = row

    majlis = fake_majlis()
    body = {**event_body(zoom_base_for("fanout"), capacity=None), "id": "fanout"}
    majlis.events.put(Event.model_validate(body), majlis.clock())
    for registration in _registrations("fanout", in_memory):
        majlis.registrations.registrations[registration.registration_id] = registration
    campaign = _campaign("fanout")
    majlis.campaigns.create(campaign)
    row = _fan_out_measured(majlis, campaign.campaign_id)
    stored = majlis.campaigns.get(campaign.campaign_id)
    # What DynamoDB and SQS would be asked: per page a GetItem (the campaign), a Query
    # (500 items fit in 1 MB), an UpdateItem (the checkpoint); per 10 messages of 50
    # recipients a SendMessageBatch.
    pages = len(majlis.campaigns.advances)
    batches = -(-len(majlis.mail_queue.jobs) // 10)
    row.update(
        recipients=in_memory,
        where="in-memory stores",
        queued=stored.queued if stored else 0,
        per_recipient={
            "GetItem": pages / in_memory,
            "Query": pages / in_memory,
            "UpdateItem": pages / in_memory,
            "SendMessageBatch": batches / in_memory,
        },
        calls_per_recipient=(3 * pages + batches) / in_memory,
    )
    rows[str(in_memory)] = row
    return rows


def campaign_sending(recipients: int = 400) -> dict[str, Any]:
    """AWS calls per recipient to send a campaign, on moto (SES included)."""
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo import registration_item
    from chalicelib.usecases import campaigns
    from chalicelib.usecases.events import put_event
    from chalicelib.usecases.mail import CampaignJob, send_campaign_mail
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for

    with mock_aws():
        provisioner = Provisioner("us-east-1")
        outputs = provisioner.create_all()
        os.environ.update(
            MAJLIS_TABLE_NAME=outputs["TableName"],
            MAJLIS_MAIL_QUEUE_URL=outputs["MailQueueUrl"],
            MAJLIS_SES_MAX_SEND_RATE="200",
            MAJLIS_SES_MAX_24_HOUR_SEND="1000000",
        )
        client("sesv2").create_email_identity(EmailIdentity="example.org")
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        put_event(majlis, "send", event_body(zoom_base_for("send"), capacity=None))
        people = _registrations("send", recipients)
        for r in people:
            client("dynamodb").put_item(TableName=outputs["TableName"], Item=registration_item(r))
        campaign = _campaign("send")
        majlis.campaigns.create(campaign)
        campaigns.fan_out(majlis, campaign.campaign_id, lambda: 900)
        jobs = []
        sqs = client("sqs")
        while True:
            got = sqs.receive_message(QueueUrl=outputs["MailQueueUrl"], MaxNumberOfMessages=10)
            if not got.get("Messages"):
                break
            for message in got["Messages"]:
                jobs.append(CampaignJob.parse(json.loads(message["Body"])))
                sqs.delete_message(
                    QueueUrl=outputs["MailQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
                )
        calls: Counter[str] = Counter()
        for service in ("dynamodb", "sesv2", "ses", "sqs"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        start = time.perf_counter()
        sent = sum(send_campaign_mail(majlis, job).get("sent", 0) for job in jobs)
        seconds = time.perf_counter() - start
    return {
        "recipients": recipients,
        "sent": sent,
        "seconds": seconds,
        "per_recipient": {op: n / recipients for op, n in sorted(calls.items())},
        "calls_per_recipient": sum(calls.values()) / recipients,
    }


def send_pacing(rates: tuple[int, ...] = (14, 200), seconds: float = 10.0) -> dict[str, Any]:
    """Achieved send rate against a simulated MaxSendRate, several workers at once.

    The turns come from the real pacer on moto's DynamoDB; SES is a stand-in that
    throttles above the rate (a token bucket, 40 ms a call); registrations, campaign
    and send records are in memory, so that moto's CPU cost does not slow the workers.
    """
    from concurrent.futures import ThreadPoolExecutor

    _aws_in_process()
    from moto import mock_aws

    from chalicelib.adapters.pacer import DynamoSendPacer
    from chalicelib.domain.events import Event
    from chalicelib.usecases import campaigns
    from chalicelib.usecases.mail import CampaignJob, send_campaign_mail
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for
    from tests.fakes import RateLimitedSes, fake_majlis

    rows = {}
    with mock_aws():
        outputs = Provisioner("us-east-1").create_all()
        for rate in rates:
            majlis = fake_majlis()
            majlis.clock = lambda: datetime.now(UTC)
            majlis.pacer = DynamoSendPacer(outputs["TableName"])
            ses = RateLimitedSes(rate, latency=0.04)
            majlis.mailer = ses
            body = {**event_body(zoom_base_for("paced"), capacity=None), "id": "paced"}
            majlis.events.put(Event.model_validate(body), majlis.clock())
            people = int(rate * seconds)
            for registration in _registrations("paced", people):
                majlis.registrations.registrations[registration.registration_id] = registration
            campaign = _campaign("paced")
            majlis.campaigns.create(campaign)
            campaigns.fan_out(majlis, campaign.campaign_id, lambda: 900)
            jobs = [CampaignJob.parse(job) for job in majlis.mail_queue.jobs]
            workers = max(2, min(len(jobs), rate // 10))
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(send_campaign_mail, [majlis] * len(jobs), jobs))
            elapsed = time.perf_counter() - start
            sent = sum(outcome.get("sent", 0) for outcome in outcomes)
            rows[str(rate)] = {
                "rate": rate,
                "workers": workers,
                "sent": sent,
                "seconds": elapsed,
                "achieved_per_second": sent / elapsed,
                "fraction": sent / elapsed / rate,
                "throttled": ses.throttled,
                "turns_only": _turns_only(outputs["TableName"], rate, seconds, workers),
            }
    return rows


def _turns_only(table: str, rate: int, seconds: float, workers: int) -> dict[str, Any]:
    """The pacer alone: workers that take turns and send a ready message, nothing else.

    On this machine (2 cores) building an announcement costs a few milliseconds of CPU,
    so one process cannot render 200 a second for many workers; this isolates what the
    shared turns allow.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from chalicelib.adapters.pacer import DynamoSendPacer
    from chalicelib.ports import Throttled
    from chalicelib.usecases.mail import IN_FLIGHT, Pace
    from tests.fakes import RateLimitedSes

    ses = RateLimitedSes(rate, latency=0.04)
    shared = SimpleNamespace(pacer=DynamoSendPacer(table), mailer=ses)
    total = int(rate * seconds)
    per_worker = -(-total // workers)
    sent = [0] * workers

    def worker(index: int) -> None:
        # As a mail worker does: take turns in order, send from a pool of IN_FLIGHT.
        pace = Pace(shared, ahead=IN_FLIGHT)
        in_flight = threading.BoundedSemaphore(IN_FLIGHT)

        def send(turn: float) -> None:
            pace.wait_until(turn)
            with contextlib.suppress(Throttled):  # the stand-in counts it
                ses.send(b"", "a@example.org", "b@example.org", {})
                sent[index] += 1
            in_flight.release()

        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            for left in range(per_worker, 0, -1):
                in_flight.acquire()
                pool.submit(send, pace.next_turn(left))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "sent": sum(sent),
        "seconds": elapsed,
        "fraction": sum(sent) / elapsed / rate,
        "throttled": ses.throttled,
    }


def main() -> int:
    sys.path.insert(0, str(ROOT))
    results = {
        "import": import_time(),
        "registration": request_path(),
        "email_cpu": email_cpu(),
        "zoom": zoom_sync(),
        "zoom_table": zoom_table_calls(),
        "campaign_fanout": campaign_fanout(),
        "campaign_sending": campaign_sending(),
        "send_pacing": send_pacing(),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    ms = 1000.0
    imp = results["import"]
    print("\nMajlis benchmarks (median [min–max]; ratio = figure / floor, same run)\n")
    print(f"{'figure':<44}{'median':>10}{'range':>22}{'floor':>10}{'ratio':>8}")
    print(
        f"{'import app (fresh interpreter)':<44}{imp['figure']['median'] * ms:>8.0f}ms"
        f"{imp['figure']['min'] * ms:>12.0f}–{imp['figure']['max'] * ms:<7.0f}ms"
        f"{imp['floor']['median'] * ms:>8.0f}ms{imp['ratio']:>8.2f}"
    )
    reg = results["registration"]
    for name in ("new", "duplicate", "waitlisted"):
        row = reg[name]
        print(
            f"{'POST registration, ' + name:<44}{row['median'] * ms:>8.1f}ms"
            f"{row['min'] * ms:>12.1f}–{row['max'] * ms:<7.1f}ms"
            f"{reg['floor']['median'] * ms:>8.1f}ms{row['ratio']:>8.2f}"
            f"   AWS calls: {', '.join(row['aws_calls']) or 'none'}"
        )
    for language, row in results["email_cpu"].items():
        print(
            f"{'email CPU, ' + language + ' (8 sessions)':<44}"
            f"{row['figure']['median'] * ms:>8.2f}ms"
            f"{row['figure']['min'] * ms:>12.2f}–{row['figure']['max'] * ms:<7.2f}ms"
            f"{row['floor']['median'] * ms:>8.2f}ms{row['ratio']:>8.2f}"
        )
    for name, label in (("single", "one at a time"), ("batched", "an import")):
        row = results["zoom"][name]
        title = f"Zoom sync, {row['registrants']} to a webinar, {label}"
        print(
            f"{title:<44}"
            f"{row['seconds']:>8.1f}s {'':>20}{row['floor_seconds']:>8.1f}s{row['ratio']:>8.2f}"
            f"   {row['calls_per_registrant']:.3f} calls/registrant, {row['tokens']} token,"
            f" {row['duplicates']} duplicates, max {row['most_adds_for_one_registrant']} adds"
            f" per registrant; {row['states']}"
        )
    for name, row in results["zoom_table"].items():
        counts = ", ".join(f"{op} {n:.2f}" for op, n in row["per_registrant"].items())
        print(
            f"{f'DynamoDB calls per registrant synced, {name}':<44}"
            f"{row['total_per_registrant']:>10.2f}   ({counts})"
        )
    for size, row in results["campaign_fanout"].items():
        counts = ", ".join(f"{op} {n:.4f}" for op, n in row["per_recipient"].items())
        print(
            f"{f'campaign fan-out, {int(size):,} recipients':<44}{row['seconds']:>8.1f}s"
            f"   peak {row['peak_mib']:.1f} MiB, {row['steps']} steps,"
            f" {row['calls_per_recipient']:.4f} calls/recipient ({counts}; {row['where']})"
        )
    row = results["campaign_sending"]
    counts = ", ".join(f"{op} {n:.3f}" for op, n in row["per_recipient"].items())
    print(
        f"{'campaign sending, calls per recipient':<44}{row['calls_per_recipient']:>10.2f}"
        f"   ({counts})"
    )
    for rate, row in results["send_pacing"].items():
        print(
            f"{f'send pacing at MaxSendRate {rate}/s':<44}{row['achieved_per_second']:>8.1f}/s"
            f"{'':>20}{float(rate):>8.1f}/s{row['fraction']:>8.2f}"
            f"   {row['sent']} sent by {row['workers']} workers, {row['throttled']} throttled;"
            f" turns alone: {row['turns_only']['fraction']:.2f} of the rate,"
            f" {row['turns_only']['throttled']} throttled"
        )
    print(f"\nfloors: {imp['floor']['what']}; {reg['floor']['what']};")
    print("        email: Jinja2 template + Babel date per session + EmailMessage (naive);")
    print("        Zoom: what the Pro plan's per-second limits allow (30 light, 10 heavy calls/s)")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
