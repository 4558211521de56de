"""Local mode's pump runs a queue's function as Lambda would: several invocations at
once while there is a backlog, never more than the function's reserved concurrency."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import boto3
import pytest
from chalice import Chalice

from infra.local.pump import Pump, concurrency

FUNCTIONS = ["mail_worker", "zoom_worker", "export_registrations", "on_table_change"]


def test_invocations_at_once_are_the_variable_bounded_by_reserved_concurrency(monkeypatch):
    monkeypatch.delenv("MAJLIS_LOCAL_CONCURRENCY", raising=False)
    # 8 by default; config.json reserves 20 for the mail worker, 2 for Zoom's, 1 for
    # exports, 10 for the stream's function (a shard at a time each: the pump reads the
    # one stream of local mode's table in one thread).
    assert concurrency(FUNCTIONS) == {
        "mail_worker": 8,
        "zoom_worker": 2,
        "export_registrations": 1,
        "on_table_change": 8,
    }
    monkeypatch.setenv("MAJLIS_LOCAL_CONCURRENCY", "50")
    assert concurrency(FUNCTIONS)["mail_worker"] == 20
    assert concurrency(FUNCTIONS, "prod")["zoom_worker"] == 2
    monkeypatch.setenv("MAJLIS_LOCAL_CONCURRENCY", "1")
    assert set(concurrency(FUNCTIONS).values()) == {1}
    for wrong in ("0", "-2", "many"):
        monkeypatch.setenv("MAJLIS_LOCAL_CONCURRENCY", wrong)
        with pytest.raises(ValueError, match=f"MAJLIS_LOCAL_CONCURRENCY={wrong} is not"):
            concurrency(FUNCTIONS)


def _worker(seconds: float) -> SimpleNamespace:
    """A function on the mail queue that takes ``seconds`` a batch, and what it saw."""
    app = Chalice("pump-test")
    seen = SimpleNamespace(app=app, bodies=[], running=0, most=0, lock=threading.Lock())

    @app.on_sqs_message(queue="majlis-mail", batch_size=10)
    def worker(event):
        with seen.lock:
            seen.running += 1
            seen.most = max(seen.most, seen.running)
        time.sleep(seconds)
        with seen.lock:
            seen.running -= 1
            seen.bodies += [record.body for record in event]

    seen.worker = worker
    return seen


def test_a_backlog_is_worked_off_by_as_many_invocations_as_allowed(aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName="majlis-mail")["QueueUrl"]
    for start in range(0, 120, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)],
        )
    seen = _worker(0.3)
    pump = Pump(seen, stream_arn="", queue_urls={"majlis-mail": url}, concurrency={"worker": 3})
    pump.start()
    try:
        deadline = time.monotonic() + 60
        while len(seen.bodies) < 120 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        pump.stop()
    assert sorted(json.loads(body) for body in seen.bodies) == list(range(120))
    assert seen.most == 3  # the backlog had three at once, and never more


def test_a_trickle_is_one_invocation_at_a_time(aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName="majlis-mail")["QueueUrl"]
    seen = _worker(0.05)
    pump = Pump(seen, stream_arn="", queue_urls={"majlis-mail": url}, concurrency={"worker": 3})
    pump.start()
    try:
        for n in range(6):  # one at a time: never a full batch, so no second poller
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(n))
            deadline = time.monotonic() + 10
            while len(seen.bodies) <= n and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        pump.stop()
    assert sorted(json.loads(body) for body in seen.bodies) == list(range(6))
    assert seen.most == 1


def test_work_that_can_wait_holds_its_polls_while_the_mail_has_a_backlog(aws):
    """One embedded DynamoDB answers everyone here: a Zoom sync takes no new batch
    while confirmations wait, and takes its batches once they have left."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    urls = {
        name: sqs.get_queue_url(QueueName=name)["QueueUrl"]
        for name in ("majlis-mail", "majlis-zoom")
    }
    for name, count in (("majlis-mail", 80), ("majlis-zoom", 30)):
        for start in range(0, count, 10):
            sqs.send_message_batch(
                QueueUrl=urls[name],
                Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(start, start + 10)],
            )
    app = Chalice("pump-priority-test")
    seen = SimpleNamespace(app=app, started=[], ended=[], lock=threading.Lock())

    def record(kind: str, event) -> None:
        with seen.lock:
            seen.started.append((kind, time.monotonic()))
        time.sleep(0.2)
        with seen.lock:
            seen.ended.append((kind, time.monotonic(), len(list(event))))

    @app.on_sqs_message(queue="majlis-mail", batch_size=10)
    def mail_worker(event):
        record("mail", event)

    @app.on_sqs_message(queue="majlis-zoom", batch_size=10)
    def zoom_worker(event):
        record("zoom", event)

    seen.mail_worker, seen.zoom_worker = mail_worker, zoom_worker
    pump = Pump(seen, stream_arn="", queue_urls=urls, concurrency={"mail_worker": 2})
    pump.start()
    try:
        deadline = time.monotonic() + 60
        while sum(n for _, _, n in seen.ended) < 110 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        pump.stop()
    assert sum(n for kind, _, n in seen.ended if kind == "mail") == 80
    assert sum(n for kind, _, n in seen.ended if kind == "zoom") == 30
    # Until the last mail batch was taken from the queue, mail was waiting there
    last_mail = max(at for kind, at in seen.started if kind == "mail")
    zoom_during_mail = [at for kind, at in seen.started if kind == "zoom" and at < last_mail]
    # The pollers start together, so one batch may slip in before the backlog is seen
    assert len(zoom_during_mail) <= 1, (zoom_during_mail, last_mail)
    assert pump.yielded >= 1
