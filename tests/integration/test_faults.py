"""Faults along the whole outbox path: SQS, SES and Zoom stumbling lose nothing and
repeat nothing.

Everything runs as in AWS, on moto in process. The table's stream is read from moto and
fed to ``app.on_table_change`` as Lambda's event source does (batches of 100, partial
batch failures, the retry policy of infra/resources.yaml and its failure queue; failing
batches are retried whole, not bisected). Each queue is fed to its function as Lambda's
SQS poller does (receive, invoke, delete what succeeded), with moto's receive counts and
the redrive policies the local provisioner created from the template. Where a test needs
them, SES's configuration set publishes each accepted email's Send event to SNS, which
delivers it to the SES events queue (moto's SES publishes none: ``send_events`` does it
for SES).

A delivery that failed comes back when the queue's visibility timeout ends: rather than
wait, the test moves the app's clock on by the mail queue's timeout and makes the
message visible at once. Faults enter through the app's own boto3 clients (the call
never reaches moto, or reaches it and the answer is lost) and through the Zoom stand-in
(answers slower than the client waits).
"""

from __future__ import annotations

import dataclasses
import email
import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from email import policy
from email.utils import getaddresses
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

import app
from chalicelib import bootstrap
from chalicelib.adapters.aws import client
from chalicelib.adapters.zoom_api import ZoomApi
from chalicelib.domain.registrations import RegistrationFilter
from chalicelib.ports import Services, ZoomCredentials
from chalicelib.usecases import campaigns
from chalicelib.usecases.registrations import register
from infra import resources_of_type
from infra.local.lambdas import Killed, Lambdas
from infra.local.runner import PRO_PLAN
from infra.local.zoom import ZoomStandIn
from tests.builders import SESSION_TITLES, person
from tests.conftest import with_zoom_queues

REGION = "us-east-1"
SESSIONS = list(SESSION_TITLES)
ZOOM_IDS = {s: f"8123456789{i}" for i, s in enumerate(SESSIONS)}  # event_body's defaults
ANNOUNCEMENT = {
    "ar": {"subject": "إعلان إلى {{first_name}}", "text": "مرحبًا {{first_name}}"},
    "en": {"subject": "News for {{first_name}}", "text": "Hello {{first_name}}"},
}


@functools.cache
def _sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


@functools.cache
def _url(queue: str) -> str:
    return _sqs().get_queue_url(QueueName=queue)["QueueUrl"]


def _bodies(queue: str) -> list[str]:
    """Every message a (dead-letter) queue holds, left in it."""
    sqs, url, found = _sqs(), _url(queue), []
    while more := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        found += [m["Body"] for m in more]
    return sorted(found)


# -- Lambda's event sources --------------------------------------------------------------


class Lambda(Lambdas):
    """The stream and the queues of some functions (infra/local/lambdas.py), on the
    test's clock: what earlier tests wrote to the shared table is not theirs."""

    def __init__(self, majlis: Services, clock: Any, *functions: str) -> None:
        described = boto3.client("dynamodb", region_name=REGION).describe_table(
            TableName=majlis.settings.table_name
        )
        super().__init__(app, described["Table"]["LatestStreamArn"], functions=functions)
        self.clock = clock

    def settle(self, most: int = 40) -> int:  # type: ignore[override]
        return super().settle(self.clock, most)


# -- faults in the app's AWS clients ----------------------------------------------------


def _refused(code: str, status: int, message: str = "injected") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "injected",
    )


def _name(fault: BaseException) -> str:
    return getattr(fault, "response", {}).get("Error", {}).get("Code") or type(fault).__name__


class Faults:
    """A hook on the app's own client for one operation: ``plan(n)`` is what its n-th
    call meets (an exception), or None to let it through. ``when`` is "before" (the
    call never reaches AWS) or "after" (AWS did the work; the answer never arrives)."""

    def __init__(
        self,
        service: str,
        operation: str,
        plan: Callable[[int], BaseException | None],
        when: str = "before",
    ) -> None:
        self.events = client(service).meta.events
        self.event = f"{'before' if when == 'before' else 'after'}-call.{service}.{operation}"
        self.plan = plan
        self.calls = 0
        self.met: Counter[str] = Counter()
        self.lock = threading.Lock()  # announcements go to SES from several threads
        self.events.register(self.event, self._hook)

    def _hook(self, **_: Any) -> None:
        with self.lock:
            self.calls += 1
            fault = self.plan(self.calls)
            if fault is not None:
                self.met[_name(fault)] += 1
        if fault is not None:
            raise fault

    def remove(self) -> None:
        self.events.unregister(self.event, self._hook)


class SqsOutage:
    """The first ``calls`` SendMessageBatch calls fail, in turn: refused (503), SQS
    unreachable, half the entries not queued (reported in ``Failed``), and all queued
    but the answer lost (a read timeout)."""

    KINDS = ("refused", "unreachable", "partial", "lost")
    URL = "https://sqs.us-east-1.amazonaws.com"

    def __init__(self, calls: int) -> None:
        self.events = client("sqs").meta.events
        self.calls = calls
        self.seen = 0
        self.met: Counter[str] = Counter()
        self.hooks = [
            ("provide-client-params.sqs.SendMessageBatch", self._request),
            ("after-call.sqs.SendMessageBatch", self._answer),
        ]
        for event, hook in self.hooks:
            self.events.register(event, hook)

    def _request(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.seen += 1
        if self.seen > self.calls:
            return
        kind = self.KINDS[(self.seen - 1) % len(self.KINDS)]
        if kind == "partial" and len(params["Entries"]) < 2:
            kind = "refused"
        self.met[kind] += 1
        if kind == "refused":
            raise _refused("ServiceUnavailable", 503)
        if kind == "unreachable":
            raise EndpointConnectionError(endpoint_url=self.URL)
        if kind == "partial":
            half = len(params["Entries"]) // 2
            context["not_queued"] = params["Entries"][half:]
            params["Entries"] = params["Entries"][:half]
        context["fault"] = kind

    def _answer(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("fault") == "partial":
            parsed.setdefault("Failed", []).extend(
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
                for e in context["not_queued"]
            )
        elif context.get("fault") == "lost":
            raise ReadTimeoutError(endpoint_url=self.URL)

    def remove(self) -> None:
        for event, hook in self.hooks:
            self.events.unregister(event, hook)


class LostAnswers:
    """SES accepts the sends ``lose(n)`` picks, and their answer never arrives (a read
    timeout, after moto's own handler has sent the email)."""

    def __init__(self, lose: Callable[[int], bool]) -> None:
        self.events = client("sesv2").meta.events
        self.lose = lose
        self.sends = self.lost = 0
        self.events.register_last("before-send", self._sent)

    def _sent(self, event_name: str, **_: Any) -> None:
        if event_name != "before-send.sesv2.SendEmail":
            return
        self.sends += 1
        if self.lose(self.sends):
            self.lost += 1
            raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    def remove(self) -> None:
        self.events.unregister("before-send", self._sent)


@pytest.fixture
def send_events(aws: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """SES's configuration set: each accepted email's Send event published to the
    event destination's SNS topic, whatever becomes of SES's answer (moto's SES
    publishes none)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sesv2.responses import SESV2Response
    from moto.sns.models import sns_backends

    described = boto3.client("ses", region_name=REGION).describe_configuration_set(
        ConfigurationSetName="majlis", ConfigurationSetAttributeNames=["eventDestinations"]
    )
    (destination,) = described["EventDestinations"]
    topic = destination["SNSDestination"]["TopicARN"]
    accept = SESV2Response.send_email

    def send_email(self: Any) -> str:
        answer = accept(self)
        params = json.loads(self.body)
        if params.get("ConfigurationSetName"):
            tags = {t["Name"]: [t["Value"]] for t in params.get("EmailTags", [])}
            tags["ses:configuration-set"] = [params["ConfigurationSetName"]]
            event = {
                "eventType": "Send",
                "mail": {
                    "timestamp": "2027-03-01T09:00:00.000Z",
                    "source": params["FromEmailAddress"],
                    "messageId": json.loads(answer)["MessageId"],
                    "destination": params["Destination"]["ToAddresses"],
                    "headersTruncated": False,
                    "tags": tags,
                },
                "send": {},
            }
            sns_backends[DEFAULT_ACCOUNT_ID][REGION].publish(message=json.dumps(event), arn=topic)
        return answer

    monkeypatch.setattr(SESV2Response, "send_email", send_email)


# -- what happened ------------------------------------------------------------------------


def _sent() -> Counter[tuple[str, str]]:
    """Emails moto's SES accepted, by recipient and kind (confirmation or announcement)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent: Counter[tuple[str, str]] = Counter()
    for message in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages:
        parsed = email.message_from_string(message.raw_data, policy=policy.default)
        kind = "announcement" if parsed["List-Unsubscribe"] else "confirmation"
        # moto adds the message's own To header to the request's destination.
        for recipient in {address for _, address in getaddresses(message.destinations)}:
            sent[(recipient, kind)] += 1
    return sent


def _once(addresses: Iterable[str], *kinds: str) -> Counter[tuple[str, str]]:
    return Counter({(address, kind): 1 for address in addresses for kind in kinds})


def _in_zoom(zoom: ZoomStandIn, people: dict[str, str]) -> Counter[str]:
    """How many times each person (email -> session) is a registrant of their session."""
    listed: Counter[str] = Counter()
    for session in set(people.values()):
        for registrant in zoom.registrants("webinar", ZOOM_IDS[session]):
            if people.get(registrant["email"]) == session:
                listed[registrant["email"]] += 1
    return listed


def _queues() -> list[dict[str, Any]]:
    return list(resources_of_type("AWS::SQS::Queue").values())


def _dead_letters() -> dict[str, list[str]]:
    """What each dead-letter queue (and the stream's failure queue) holds."""
    names = [q["Properties"]["QueueName"] for q in _queues()]
    return {name: _bodies(name) for name in names if name.endswith(("-dlq", "-failures"))}


def _nothing_dead() -> None:
    dead = {name: len(bodies) for name, bodies in _dead_letters().items() if bodies}
    assert dead == {}, dead


def _report(title: str, numbers: dict[str, Any]) -> None:
    print(f"\n{title}:", json.dumps(numbers))


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def zoom() -> Iterator[ZoomStandIn]:
    with ZoomStandIn(rate_limits=PRO_PLAN) as standin:
        yield standin


@pytest.fixture
def wired(aws: Services, zoom: ZoomStandIn) -> Services:
    """Majlis on moto with every queue of the template, and Zoom on the stand-in."""
    credentials = ZoomCredentials(zoom.account_id, zoom.client_id, zoom.client_secret)
    return with_zoom_queues(aws, zoom=ZoomApi(lambda: credentials, zoom.api_url, zoom.oauth_url))


@pytest.fixture
def faults() -> Iterator[list[Any]]:
    """Hooks to take out of the app's clients after the test."""
    installed: list[Any] = []
    yield installed
    for fault in installed:
        fault.remove()


def _register(majlis: Services, count: int, **fields: Any) -> dict[str, str]:
    """``count`` new registrations; their ids by email."""
    return {
        person(n)["email"]: register(
            majlis, "conf", person(n, **fields), form=False
        ).registration_id
        for n in range(count)
    }


# -- SQS ------------------------------------------------------------------------------------


def test_sqs_down_during_a_registration_burst_loses_no_email_and_no_zoom_registrant(
    api, wired, zoom, clock, faults
):
    # Given SQS failing its next 16 SendMessageBatch calls, in every way it can
    lam = Lambda(wired, clock, "mail_worker", "zoom_worker")
    outage = SqsOutage(calls=16)
    faults.append(outage)
    # When 30 people register through the API, each for one of two sessions
    people = {person(n)["email"]: SESSIONS[n % 2] for n in range(30)}
    for n, address in enumerate(people):
        answer = api.http.post(
            "/events/conf/registrations",
            headers={"Content-Type": "application/json"},
            body=json.dumps(person(n, sessions=[people[address]])),
        )
        assert answer.status_code == 201, answer.body
    # Then all are accepted and stored, without a single call to SQS
    assert outage.seen == 0
    stored = wired.registrations.page("conf", RegistrationFilter(), 100, None).items
    assert sorted(r.email for r in stored) == sorted(people)
    # And once SQS is back, each has one confirmation and is one Zoom registrant
    waits = lam.settle()
    assert sum(outage.met.values()) == 16 and set(outage.met) == set(SqsOutage.KINDS)
    assert _sent() == _once(people, "confirmation")
    assert _in_zoom(zoom, people) == Counter(dict.fromkeys(people, 1))
    _nothing_dead()
    assert lam.stream.discarded == 0
    assert lam.stream.longest > 10  # SQS stayed down through more than ten tries of a batch
    mail = lam.queues["mail_worker"]
    assert sum(mail.batches) > len(people)  # the stream's retries queued some jobs twice
    _report(
        "sqs outage, 30 registrations",
        {
            "sqs_faults": dict(outage.met),
            "stream_invocations": lam.stream.invocations,
            "stream_retries": lam.stream.retried,
            "longest_retry_of_a_batch": lam.stream.longest,
            "mail_jobs_delivered": sum(mail.batches),
            "zoom_jobs_delivered": sum(lam.queues["zoom_worker"].batches),
            "emails_sent": sum(_sent().values()),
            "zoom_registrants": sum(_in_zoom(zoom, people).values()),
            "visibility_waits": waits,
        },
    )


# -- SES ------------------------------------------------------------------------------------


def test_ses_down_during_a_burst_sends_every_email_once_when_it_is_back(wired, clock, faults):
    # Given SES failing its next 20 sends: unreachable, a connection timeout (a 5xx may
    # mean the email left: test_an_email_ses_answered_with_a_5xx_is_sent_once)
    lam = Lambda(wired, clock, "mail_worker")
    kinds = [
        lambda: EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        lambda: ConnectTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    ]
    outage = Faults("sesv2", "SendEmail", lambda n: kinds[n % 2]() if n <= 20 else None)
    faults.append(outage)
    # When 30 people register
    people = _register(wired, 30)
    waits = lam.settle()
    # Then each gets their confirmation once, none waits for a dead worker's lease
    # (SES never had those emails: the next delivery sends them), nothing is dead
    assert sum(outage.met.values()) == 20 and len(outage.met) == 2
    assert _sent() == _once(people, "confirmation")
    assert waits * lam.step < wired.settings.send_lease_seconds
    _nothing_dead()
    mail = lam.queues["mail_worker"]
    _report(
        "ses outage, 30 confirmations",
        {
            "ses_faults": dict(outage.met),
            "ses_calls": outage.calls,
            "deliveries": sum(mail.batches),
            "retried": mail.failures,
            "emails_sent": sum(_sent().values()),
            "visibility_waits": waits,
        },
    )


def test_ses_throttling_bursts_delay_confirmations_and_announcements_but_drop_none(
    wired, clock, faults
):
    # Given SES throttling two sends in every five, all along
    lam = Lambda(wired, clock, "mail_worker", "announcement_worker", "campaign_fanout")

    def plan(n: int) -> ClientError | None:
        if n % 5 == 2:
            return _refused("Throttling", 400, "Maximum sending rate exceeded.")
        if n % 5 == 3:
            return _refused("TooManyRequestsException", 429, "Too Many Requests")
        return None

    throttling = Faults("sesv2", "SendEmail", plan)
    faults.append(throttling)
    # When 20 people register and an announcement goes to all of them
    people = _register(wired, 20, language="en")
    status, _ = campaigns.create(wired, "conf", {"name": "Day 2", "content": ANNOUNCEMENT})
    assert status == 202
    waits = lam.settle()
    # Then each gets one confirmation and one announcement; none came near the DLQ
    assert _sent() == _once(people, "confirmation", "announcement")
    mail = lam.queues["mail_worker"]
    announcements = lam.queues["announcement_worker"]
    assert sum(throttling.met.values()) >= 0.3 * throttling.calls
    assert mail.most_receives < mail.max_receives
    assert announcements.most_receives < announcements.max_receives
    _nothing_dead()
    _report(
        "ses throttling, 20 confirmations + 20 announcements",
        {
            "ses_calls": throttling.calls,
            "throttled": dict(throttling.met),
            "mail_deliveries": sum(mail.batches) + sum(announcements.batches),
            "most_receives_of_one_job": mail.most_receives,
            "emails_sent": sum(_sent().values()),
            "visibility_waits": waits,
        },
    )


def test_an_email_whose_answer_was_lost_is_not_sent_again(wired, clock, faults, send_events):
    # Given SES accepting the 3rd email of 10 but its answer never arriving
    lam = Lambda(wired, clock, "mail_worker", "on_ses_event")
    lost = LostAnswers(lambda n: n == 3)
    faults.append(lost)
    # When 10 people register
    people = _register(wired, 10)
    waits = lam.settle()
    # Then the 3rd is recognised from SES's Send event, not sent again
    assert lost.lost == 1
    assert _sent() == _once(people, "confirmation")
    assert waits * lam.step < wired.settings.send_lease_seconds
    _nothing_dead()
    _report(
        "ses answer lost",
        {"ses_sends": lost.sends, "emails_sent": sum(_sent().values()), "visibility_waits": waits},
    )


class ServerErrors:
    """SES answering the sends ``fail(n)`` picks with a 500, after taking the email
    (``went``: moto's handler has sent it) or before (it never left)."""

    def __init__(self, fail: Callable[[int], bool], went: bool) -> None:
        self.events = client("sesv2").meta.events
        self.fail, self.went = fail, went
        self.sends = self.failed = 0
        register = self.events.register_last if went else self.events.register_first
        register("before-send", self._answer)

    def _answer(self, event_name: str, **_: Any) -> None:
        if event_name != "before-send.sesv2.SendEmail":
            return
        self.sends += 1
        if self.fail(self.sends):
            self.failed += 1
            raise _refused("InternalFailure", 500, "We encountered an internal error.")

    def remove(self) -> None:
        self.events.unregister("before-send", self._answer)


@pytest.mark.parametrize("went", [True, False], ids=["after taking it", "before taking it"])
def test_an_email_ses_answered_with_a_5xx_is_sent_once(wired, clock, faults, send_events, went):
    # Given SES answering the 3rd email of 10 with a 500, having sent it or not
    lam = Lambda(wired, clock, "mail_worker", "on_ses_event")
    errors = ServerErrors(lambda n: n == 3, went)
    faults.append(errors)
    # When 10 people register
    people = _register(wired, 10)
    waits = lam.settle()
    # Then each gets their confirmation once: one that went is known by SES's Send
    # event, one that did not goes when its claim's lease ends
    assert errors.failed == 1
    assert _sent() == _once(people, "confirmation")
    if went:
        assert waits * lam.step < wired.settings.send_lease_seconds
    else:
        assert waits * lam.step >= wired.settings.send_lease_seconds
    _nothing_dead()


@pytest.mark.parametrize("moment", ["after the SES call", "before the SES call"])
def test_a_mail_worker_killed_mid_batch_sends_each_email_once(
    wired, clock, faults, send_events, moment
):
    # Given SES publishing Send events, and a worker killed at its 5th email of 10
    lam = Lambda(wired, clock, "mail_worker", "on_ses_event")
    when = "after" if moment.startswith("after") else "before"
    kill = Faults(
        "sesv2", "SendEmail", lambda n: Killed("Lambda timed out") if n == 5 else None, when
    )
    faults.append(kill)
    # When 10 people register (one batch of the mail worker)
    people = _register(wired, 10)
    waits = lam.settle()
    # Then the whole batch came back, and each email went once
    mail = lam.queues["mail_worker"]
    assert mail.killed == 1 and mail.batches[:2] == [10, 10]
    assert _sent() == _once(people, "confirmation")
    lease = wired.settings.send_lease_seconds
    if when == "after":
        # The email that left is recognised from SES's Send event, not by waiting.
        assert waits * lam.step < lease
    else:
        # The claim of the email that never left is taken over when its lease ends.
        assert waits * lam.step > lease
    _nothing_dead()
    _report(
        f"mail worker killed {moment}",
        {
            "batches": mail.batches,
            "emails_sent": sum(_sent().values()),
            "visibility_waits": waits,
        },
    )


# -- poison ---------------------------------------------------------------------------------


def test_poison_messages_go_to_each_queues_dead_letters_and_the_rest_flows_once(wired, zoom, clock):
    # Given people registered for Zoom sessions and an announcement to them all
    lam = Lambda(
        wired, clock, "mail_worker", "announcement_worker", "zoom_worker", "campaign_fanout"
    )
    sessions = {person(n)["email"]: SESSIONS[n % 2] for n in range(10)}
    for n, address in enumerate(sessions):
        register(wired, "conf", person(n, language="en", sessions=[sessions[address]]), form=False)
    assert campaigns.create(wired, "conf", {"name": "Day 2", "content": ANNOUNCEMENT})[0] == 202
    # And on each of their queues, a body that is not JSON and a job of no known kind
    poison = ["{not json", json.dumps({"type": "unheard-of", "registration_id": "x"})]
    for queue in lam.queues.values():
        for body in poison:
            _sqs().send_message(QueueUrl=queue.url, MessageBody=body)
    # When everything has run (the poison redelivered until SQS gives up on it: 100
    # times on the announcements' queue)
    waits = lam.settle(most=110)
    # Then each queue's dead letters hold exactly its poison, per its redrive policy
    dead = _dead_letters()
    specs = {q["Properties"]["QueueName"]: q["Properties"] for q in _queues()}
    for queue in lam.queues.values():
        assert dead.pop(f"{queue.name}-dlq") == sorted(poison), queue.name
        # moto's queue has the template's redrive policy; the poison was tried that often
        assert queue.max_receives == specs[queue.name]["RedrivePolicy"]["maxReceiveCount"]
        assert queue.most_receives == queue.max_receives
    assert {name: bodies for name, bodies in dead.items() if bodies} == {}
    # And the rest went through exactly once
    assert _sent() == _once(sessions, "confirmation", "announcement")
    assert _in_zoom(zoom, sessions) == Counter(dict.fromkeys(sessions, 1))
    _report(
        "poison on the mail, announcement, zoom and campaign queues",
        {
            "receives_before_dead_letters": {q.name: q.max_receives for q in lam.queues.values()},
            "emails_sent": sum(_sent().values()),
            "zoom_registrants": sum(_in_zoom(zoom, sessions).values()),
            "visibility_waits": waits,
        },
    )


# -- Zoom -----------------------------------------------------------------------------------


def test_zoom_answering_after_the_client_gave_up_adds_each_registrant_once(wired, zoom, clock):
    # Given a zoom worker that waits 0.25 s for Zoom, with its token already fetched
    credentials = ZoomCredentials(zoom.account_id, zoom.client_id, zoom.client_secret)
    majlis = dataclasses.replace(
        wired, zoom=ZoomApi(lambda: credentials, zoom.api_url, zoom.oauth_url, timeout=0.25)
    )
    bootstrap.use(majlis)
    majlis.zoom.registrants("webinar", ZOOM_IDS[SESSIONS[0]])
    lam = Lambda(majlis, clock, "zoom_worker")
    people = {person(n)["email"]: SESSIONS[n % 3] for n in range(18)}
    ids = [
        register(majlis, "conf", person(n, sessions=[people[address]]), form=False).registration_id
        for n, address in enumerate(people)
    ]
    # When Zoom takes 0.6 s to answer (and does the work) while the first jobs run
    zoom.faults.set(latency=0.6)
    lam.run_stream()
    zoom_queue = lam.queues["zoom_worker"]
    while zoom_queue.poll():
        pass
    assert zoom_queue.failures == len(people)  # every add timed out
    # (and Zoom finishes what it was doing: every one of them is added)
    deadline = time.monotonic() + 10
    while any(zoom.add_attempts(ZOOM_IDS[s], a) < 1 for a, s in people.items()):
        assert time.monotonic() < deadline, "the timed out adds never reached Zoom"
        time.sleep(0.05)
    # And Zoom then answers at once (the worker waiting as long as in AWS again, so that
    # a busy test machine cannot make a retry time out too)
    zoom.faults.reset()
    bootstrap.use(wired)
    waits = lam.settle()
    # Then each person is one registrant of their session, known by Zoom's own ids,
    # and no more adds were sent than the timed out one and its retry
    stored = wired.registrations.get_many(ids)
    assert _in_zoom(zoom, people) == Counter(dict.fromkeys(people, 1))
    by_email = {r.email: r for r in stored.values()}
    for address, session in people.items():
        (registrant,) = [
            r for r in zoom.registrants("webinar", ZOOM_IDS[session]) if r["email"] == address
        ]
        assert by_email[address].zoom[session]["registrant_id"] == registrant["id"]
        assert zoom.add_attempts(ZOOM_IDS[session], address) == 2
    _nothing_dead()
    _report(
        "zoom answering after the client's timeout, 18 registrants",
        {
            "batch_calls": zoom.calls("batch"),
            "timed_out_jobs": len(people),
            "zoom_registrants": sum(_in_zoom(zoom, people).values()),
            "visibility_waits": waits,
        },
    )
