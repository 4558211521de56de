"""The console's exports and Zoom page through the API on moto: an export started from
the page is written and offered for download; an attendance export needs its session;
Zoom's missing interpretation languages are said in the organiser's language."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.ports import Services
from chalicelib.usecases import exports
from tests.integration.test_console_routes import EVENT_ID, FORM, _csrf, _link_token, _sign_in

BASE = f"/console/events/{EVENT_ID}"


def _post(api: Any, cookie: str, path: str, body: str) -> Any:
    headers = {"Content-Type": FORM, "Sec-Fetch-Site": "same-origin", "Cookie": cookie}
    return api.http.post(path, headers=headers, body=body)


def test_an_export_started_from_the_page_is_offered_for_download(api, aws: Services):
    reader = _sign_in(api, _link_token(aws, "reader@example.org", "read"))
    csrf = _csrf(api, f"{BASE}/operations", reader)
    started = _post(api, reader, f"{BASE}/exports", f"csrf={csrf}&kind=registrations&language=ar")
    assert started.status_code == 303
    location = started.headers["Location"]
    export_id = re.search(r"/exports/([0-9a-z]+)", location).group(1)
    waiting = api.http.get(location, headers={"Cookie": reader}).body.decode()
    assert 'http-equiv="refresh"' in waiting and "download" not in waiting
    exports.write(aws, export_id)  # what the export worker does
    ready = api.http.get(location, headers={"Cookie": reader}).body.decode()
    assert "download" in ready and 'http-equiv="refresh"' not in ready
    assert "export" in [entry.action for entry in aws.organizers.audit_trail(EVENT_ID, 10)]


def test_an_attendance_export_without_its_session_is_a_422_on_the_field(api, aws):
    reader = _sign_in(api, _link_token(aws, "reader@example.org", "read"))
    csrf = _csrf(api, f"{BASE}/operations", reader)
    answer = _post(api, reader, f"{BASE}/exports", f"csrf={csrf}&kind=attendance")
    assert answer.status_code == 422
    assert 'id="export-session-error"' in answer.body.decode()


def test_a_missing_zoom_language_is_said_in_the_organiser_s_language(api, aws):
    from chalicelib.domain.events import Interpretation

    event = aws.events.get(EVENT_ID)
    session = next(s for s in event.sessions if s.has_zoom)
    interpreted = session.model_copy(
        update={"interpretation": Interpretation.model_validate({"from": "ar", "into": ["ur"]})}
    )
    sessions = [interpreted if s.id == session.id else s for s in event.sessions]
    aws.events.put(event.model_copy(update={"sessions": sessions}), aws.clock())
    link = session.zoom_links[0]
    aws.zoom_store.record_setup(
        EVENT_ID,
        session.id,
        link.key,
        "interpretation",
        {"state": "incomplete", "missing": ["Urdu"], "problems": ["(English)"]},
        aws.clock(),
    )
    admin = _sign_in(api, _link_token(aws, "admin@example.org", "admin"))
    page = api.http.get(f"{BASE}/operations?lang=fr", headers={"Cookie": admin}).body.decode()
    assert "Urdu" in page and "(English)" not in page


def test_the_dead_letter_queues_say_what_waits_in_them(api, aws):
    import dataclasses
    import json

    import boto3

    from chalicelib import bootstrap
    from chalicelib.adapters.sqs import SqsDeadLetters

    sqs = boto3.client("sqs")
    urls = [
        sqs.get_queue_url(QueueName=f"majlis-{name}-dlq")["QueueUrl"] for name in ("mail", "zoom")
    ]
    for n in range(3):
        body = json.dumps({"type": "zoom_sync", "registration_id": f"r{n}"})
        sqs.send_message(QueueUrl=urls[1], MessageBody=body)
    bootstrap.use(dataclasses.replace(aws, dead_letters=SqsDeadLetters(urls)))
    admin = _sign_in(api, _link_token(aws, "admin@example.org", "admin"))
    page = api.http.get(f"{BASE}/operations?lang=en", headers={"Cookie": admin}).body.decode()
    rows = re.findall(r'<td dir="ltr">(majlis-[a-z-]+)</td><td>(\d+)', page)
    assert rows == [("majlis-mail-dlq", "0"), ("majlis-zoom-dlq", "3")]
    assert page.count('class="badge"') >= 1


def test_an_operator_moves_a_dead_letter_queue_back_from_the_page(api, aws):
    """The button keeps a request; the outbox gives it to the export worker, which moves
    the messages (its role may; the API's may only count them)."""
    import dataclasses
    import json

    import boto3

    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo.schema import image, redrive_item
    from chalicelib.adapters.sqs import SqsDeadLetters
    from chalicelib.entrypoints.workers import export_batch
    from chalicelib.ports import Change
    from chalicelib.usecases import console
    from chalicelib.usecases.outbox import export_jobs

    sqs = boto3.client("sqs")
    dead = sqs.get_queue_url(QueueName="majlis-zoom-dlq")["QueueUrl"]
    live = sqs.get_queue_url(QueueName="majlis-zoom")["QueueUrl"]
    for n in range(3):
        body = json.dumps({"type": "zoom_sync", "registration_id": f"r{n}"})
        sqs.send_message(QueueUrl=dead, MessageBody=body)
    wired = dataclasses.replace(aws, dead_letters=SqsDeadLetters([dead]))
    bootstrap.use(wired)
    # An admin of the event only is refused; an admin of every event may
    admin = _sign_in(api, _link_token(aws, "admin@example.org", "admin"))
    csrf = _csrf(api, f"{BASE}/operations", admin)
    path = f"{BASE}/dead-letters/majlis-zoom-dlq/redrive"
    assert _post(api, admin, path, f"csrf={csrf}").status_code == 403
    _, link = console.invite(aws, "*", "ops@example.org", "admin", "test")
    operator = _sign_in(api, console.sign_in_token(aws, link))
    csrf = _csrf(api, f"{BASE}/operations", operator)
    assert _post(api, operator, path, f"csrf={csrf}").status_code == 303
    (asked,) = aws.organizers.redrives(5)
    (job,) = export_jobs(Change("1", "INSERT", {}, image(_typed(redrive_item(asked))), "r"))
    record = {"messageId": "m1", "body": job.message(), "receiptHandle": "h", "attributes": {}}
    assert export_batch(wired, [record]) == {"batchItemFailures": []}
    held = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["ApproximateNumberOfMessages"])
    assert held["Attributes"]["ApproximateNumberOfMessages"] == "0"
    moved = sqs.receive_message(QueueUrl=live, MaxNumberOfMessages=10)["Messages"]
    assert len(moved) == 3
    page = api.http.get(f"{BASE}/operations?lang=en", headers={"Cookie": operator}).body.decode()
    assert "3 moved back" in page


def _typed(item: dict) -> dict:
    from chalicelib.adapters.dynamo.schema import to_attributes

    return to_attributes(item)
