"""Fixtures: fakes for the rules, moto for the adapters, local mode for end to end."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.domain.events import Event
from chalicelib.ports import Services
from tests.builders import NOW, event_body
from tests.fakes import Clock, fake_majlis

EVENT_ID = "conf"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def majlis(clock: Clock) -> Services:
    """Majlis on in-memory fakes, with the event ``conf`` configured."""
    wired = fake_majlis(clock)
    wired.events.put(Event.model_validate({**event_body(), "id": EVENT_ID}), clock())
    return wired


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MotoSession:
    """One in-process moto for the test session: resources created once, data wiped per test.

    Creating the resources of infra/resources.yaml takes about a second; wiping the
    tables, the queues and SES's sent mail, and putting the secrets' values back, takes a
    few milliseconds. If something reset moto meanwhile, the resources are created again.
    """

    def __init__(self) -> None:
        self.mock: Any = None
        self.outputs: dict[str, str] = {}
        self.secrets: dict[str, str] = {}  # as created: a test's own values go after it

    def start(self) -> dict[str, str]:
        from moto import mock_aws

        from infra.local import embedded
        from infra.local.provision import Provisioner

        # The tests' moto behaves as local mode's (every test also tries its shortcuts).
        embedded.install_faithful_dynamodb()
        embedded.install_faithful_queues()
        embedded.install_quick_answers()
        embedded.install_quick_copies()
        embedded.install_quick_queries()
        embedded.install_quick_queues()
        embedded.install_quick_parsing()
        if self.mock is None:
            self.mock = mock_aws()
            self.mock.start()
        db = boto3.client("dynamodb", region_name="us-east-1")
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        if "majlis" not in db.list_tables()["TableNames"]:
            self.outputs = Provisioner("us-east-1").create_all()
            self.secrets = {  # the Zoom secrets are created empty (None)
                listed["Name"]: _secret_value(secrets, listed["Name"])
                for listed in secrets.list_secrets()["SecretList"]
            }
        else:
            self._wipe(db)
            for name, value in self.secrets.items():
                if _secret_value(secrets, name) == value:
                    continue
                if value is None:  # empty again, as created
                    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
                    secrets.create_secret(Name=name)
                else:
                    secrets.put_secret_value(SecretId=name, SecretString=value)
        # The events' sender domain, verified as an organiser would before sending.
        boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="example.org")
        return self.outputs

    def _wipe(self, db: Any) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends
        from moto.sqs.models import sqs_backends

        for table in db.list_tables()["TableNames"]:
            schema = db.describe_table(TableName=table)["Table"]["KeySchema"]
            names = [key["AttributeName"] for key in schema]
            keys = [
                {name: item[name] for name in names}
                for page in db.get_paginator("scan").paginate(
                    TableName=table, ProjectionExpression=", ".join(names)
                )
                for item in page["Items"]
            ]
            for start in range(0, len(keys), 25):
                db.batch_write_item(
                    RequestItems={
                        table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
                    }
                )
        for queue in sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues.values():
            queue._messages.clear()  # PurgeQueue allows one call a minute
            queue._pending_messages = set()
        ses = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        ses.sent_messages.clear()
        ses.sent_message_count = 0

    def stop(self) -> None:
        if self.mock is not None:
            self.mock.stop()
            self.mock = None


def _secret_value(secrets: Any, name: str) -> str | None:
    try:
        return secrets.get_secret_value(SecretId=name)["SecretString"]
    except secrets.exceptions.ResourceNotFoundException:
        return None


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoSession]:
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    session = MotoSession()
    try:
        yield session
    finally:
        session.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def aws(
    moto_session: MotoSession, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> Iterator[Services]:
    """Majlis on moto (in process): the resources of infra/resources.yaml, event ``conf``."""
    from chalicelib import config
    from chalicelib.adapters import aws as aws_clients
    from chalicelib.usecases.events import put_event

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MAJLIS_CHECK_SENDER_IDENTITY": "false",
        "MAJLIS_SES_MAX_SEND_RATE": "1000",
        "MAJLIS_SES_MAX_24_HOUR_SEND": "1000000",
    }.items():
        monkeypatch.setenv(name, value)
    outputs = moto_session.start()
    monkeypatch.setenv("MAJLIS_TABLE_NAME", outputs["TableName"])
    monkeypatch.setenv("MAJLIS_MAIL_QUEUE_URL", outputs["MailQueueUrl"])
    monkeypatch.setenv("MAJLIS_ANNOUNCEMENT_QUEUE_URL", outputs["AnnouncementQueueUrl"])
    monkeypatch.setenv("MAJLIS_CAMPAIGN_QUEUE_URL", outputs["CampaignQueueUrl"])
    monkeypatch.setenv("MAJLIS_EXPORT_QUEUE_URL", outputs["ExportQueueUrl"])
    monkeypatch.setenv("MAJLIS_EXPORT_BUCKET", outputs["ExportBucketName"])
    config.settings.cache_clear()
    aws_clients.client.cache_clear()
    wired = bootstrap.on_aws(config.settings())
    wired.clock = clock
    put_event(wired, EVENT_ID, event_body())
    bootstrap.use(wired)
    try:
        yield wired
    finally:
        bootstrap.use(None)
        aws_clients.client.cache_clear()
        config.settings.cache_clear()


def with_zoom_queues(services: Services, **others: Any) -> Services:
    """``services`` with the template's real zoom queue and its dead letters (the ``aws``
    fixture leaves them unset), and ``others`` replaced; installed as the app's."""
    import dataclasses

    from chalicelib.adapters.sqs import SqsJobQueue

    sqs = boto3.client("sqs", region_name="us-east-1")
    wired = dataclasses.replace(
        services,
        zoom_queue=SqsJobQueue(sqs.get_queue_url(QueueName="majlis-zoom")["QueueUrl"]),
        zoom_dead_letters=SqsJobQueue(sqs.get_queue_url(QueueName="majlis-zoom-dlq")["QueueUrl"]),
        **others,
    )
    bootstrap.use(wired)
    return wired


@pytest.fixture
def api(aws: Services) -> Iterator[Any]:
    """chalice.test.Client on moto, answering gateway errors as API Gateway does."""
    import app
    from infra.local.gateway import problem_client

    with problem_client(app.app) as client:
        yield client


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """All of local mode (moto server, pump, HTTP API) on free ports."""
    from chalicelib import config
    from chalicelib.adapters import aws as aws_clients
    from infra.local.runner import LocalMajlis

    saved = dict(os.environ)
    root: Path = tmp_path_factory.mktemp("local")
    runner = LocalMajlis(root=root, port=0, keep_state=False).start()
    try:
        yield runner
    finally:
        runner.stop()
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.use(None)
        aws_clients.client.cache_clear()
        config.settings.cache_clear()
