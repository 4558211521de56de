"""Follow-up by attendance on moto: the DynamoDB filter of ``audience.attended`` agrees
with domain/attendance.py, Zoom's first and last join never move the wrong way, a
follow-up campaign reaches those who missed the session with its recording, and the
attendance export goes through the API into S3."""

from __future__ import annotations

import csv
import email
import io
import json
from email import policy
from email.utils import getaddresses

import boto3
import pytest

from chalicelib import auth
from chalicelib.adapters.dynamo.schema import registration_key, to_attributes
from chalicelib.domain.registrations import RegistrationFilter, Status
from chalicelib.jobs import CampaignMail
from chalicelib.ports import Services
from chalicelib.usecases import campaigns, exports
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_campaign_mail
from tests.builders import event_body, person

RECORDING = "https://video.example.org/recordings/education"


@pytest.fixture
def recorded(aws: Services) -> None:
    body = event_body()
    body["sessions"][0]["recording_url"] = RECORDING  # education
    put_event(aws, "conf", body)


def _person(aws: Services, n: int, **spec) -> str:
    return register(aws, "conf", person(n, **spec), form=False).registration_id


def _clicked(aws: Services, registration_id: str, session_id: str = "education") -> None:
    version = aws.registrations.get(registration_id, consistent=True).link_version
    aws.registrations.record_click(registration_id, session_id, version, aws.clock())


def _zoom_joined(aws: Services, registration_id: str, at: str, session: str = "education") -> None:
    aws.zoom_store.attended(registration_id, "conf", session, {"join_time": at}, aws.clock())


@pytest.fixture
def crowd(aws: Services, recorded) -> dict[str, str]:
    ids = {
        "clicked": _person(aws, 1, language="en"),
        "zoomed": _person(aws, 2, language="en"),
        "both": _person(aws, 3, language="ar"),
        "missed": _person(aws, 4, language="en"),
        "missed_ms": _person(aws, 5, language="ms", sessions=["education", "family"]),
        "elsewhere": _person(aws, 6, language="en", sessions=["family"]),
    }
    _clicked(aws, ids["clicked"])
    _zoom_joined(aws, ids["zoomed"], "2027-03-06T12:03:00Z")
    _clicked(aws, ids["both"])
    _zoom_joined(aws, ids["both"], "2027-03-06T12:04:00Z")
    _clicked(aws, ids["elsewhere"], "family")
    _zoom_joined(aws, ids["missed"], "2027-03-06T14:05:00Z", session="family")
    return ids


@pytest.mark.parametrize("session", ["education", "family", "youth"])
@pytest.mark.parametrize("value", [True, False])
def test_the_attended_filter_on_dynamodb_agrees_with_the_domain_rule(aws, crowd, session, value):
    # Given everyone as stored, and the rule of domain/attendance.py over them
    everyone = aws.registrations.page("conf", RegistrationFilter(), 100, None).items
    where = RegistrationFilter(attended=(session, value))
    expected = {r.registration_id for r in everyone if where.matches(r)}
    # When DynamoDB filters them
    found = {r.registration_id for r in aws.registrations.every("conf", where, 2)}
    # Then the same people, page after page
    assert found == expected
    if (session, value) == ("education", False):
        assert found == {crowd["missed"], crowd["missed_ms"]}
    if (session, value) == ("education", True):
        assert found == {crowd["clicked"], crowd["zoomed"], crowd["both"]}


def test_zoom_joins_out_of_order_keep_the_earliest_first_and_the_latest_last(aws, recorded):
    rid = _person(aws, 1)
    for at in ("2027-03-06T12:10:00Z", "2027-03-06T12:30:00Z", "2027-03-06T12:02:00Z"):
        _zoom_joined(aws, rid, at)
    _zoom_joined(aws, rid, "2027-03-06T12:20:00Z")  # between: changes neither
    stored = aws.registrations.get(rid, consistent=True)
    assert stored.attended == {"education": "2027-03-06T12:02:00Z"}
    assert stored.attended_last == {"education": "2027-03-06T12:30:00Z"}


def test_a_registration_stored_before_attended_last_existed_gets_it(aws, recorded):
    rid = _person(aws, 1)
    boto3.client("dynamodb").update_item(
        TableName=aws.settings.table_name,
        Key=to_attributes(registration_key(rid)),
        UpdateExpression="REMOVE attended_last",
    )
    _zoom_joined(aws, rid, "2027-03-06T12:10:00Z")
    _zoom_joined(aws, rid, "2027-03-06T12:05:00Z")
    stored = aws.registrations.get(rid, consistent=True)
    assert stored.attended == {"education": "2027-03-06T12:05:00Z"}
    assert stored.attended_last == {"education": "2027-03-06T12:10:00Z"}


def _drain_announcements(aws: Services) -> list[CampaignMail]:
    sqs = boto3.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=aws.settings.announcement_queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            job = json.loads(message["Body"])
            if job.get("type") == "campaign_mail":
                found.append(CampaignMail.model_validate(job))
            sqs.delete_message(
                QueueUrl=aws.settings.announcement_queue_url,
                ReceiptHandle=message["ReceiptHandle"],
            )


def _announcements() -> dict[str, str]:
    """Announcements moto's SES accepted: recipient -> the whole message as text."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    found = {}
    for message in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages:
        parsed = email.message_from_string(message.raw_data, policy=policy.default)
        if not parsed["List-Unsubscribe"]:
            continue  # a confirmation
        text = parsed.get_body(("plain",)).get_content()
        for _, address in getaddresses(message.destinations):
            found[address] = text
    return found


def test_a_follow_up_to_attended_false_reaches_exactly_those_who_missed_it_on_moto(aws, crowd):
    body = {
        "name": "Recording",
        "audience": {"attended": {"session": "education", "value": False}},
        "content": {"ar": {"subject": "التسجيل", "text": "شاهد: {{recording_url}}"}},
    }
    status, dry = campaigns.create(aws, "conf", {**body, "dry_run": True})
    assert status == 200
    assert (dry["recipients"], dry["by_language"], dry["fallbacks"]) == (
        2,
        {"ar": 2},
        {"en": 1, "ms": 1},
    )
    status, answer = campaigns.create(aws, "conf", body)
    assert status == 202 and answer["recipients"] == 2
    assert campaigns.fan_out(aws, answer["campaign_id"], lambda: 900).outcome == "queued"
    for job in _drain_announcements(aws):
        send_campaign_mail(aws, job)
    sent = _announcements()
    assert set(sent) == {"person4@example.org", "person5@example.org"}
    assert all(RECORDING in text for text in sent.values())


def _reader(aws: Services) -> dict[str, str]:
    token = auth.mint(aws.tokens, ["conf"], ["read"], "exports", aws.clock())
    return {"Authorization": f"Bearer {token}"}


def test_an_attendance_export_through_the_api_lands_in_s3(api, aws, crowd):
    headers = _reader(aws)
    refused = api.http.post("/events/conf/exports?kind=attendance", headers=headers)
    assert refused.status_code == 422
    assert refused.json_body["errors"][0]["field"] == "session"
    started = api.http.post(
        "/events/conf/exports?kind=attendance&session=education", headers=headers
    )
    assert started.status_code == 202
    export_id = started.json_body["export_id"]
    assert exports.write(aws, export_id) == "done"
    answer = api.http.get(f"/events/conf/exports/{export_id}", headers=headers).json_body
    assert (answer["status"], answer["rows"]) == ("done", 5)
    assert "attendance-education.csv" in answer["url"]
    data = (
        boto3.client("s3")
        .get_object(Bucket=aws.settings.export_bucket, Key=f"conf/{export_id}.csv")["Body"]
        .read()
    )
    rows = {
        row["registration_id"]: row for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    }
    assert rows[crowd["zoomed"]]["first_join"] == "2027-03-06T12:03:00Z"
    assert rows[crowd["zoomed"]]["last_join"] == "2027-03-06T12:03:00Z"
    assert rows[crowd["both"]]["joined_by"] == "link zoom"
    assert rows[crowd["missed"]]["attended"] == "no"  # came to family, not to education
    assert crowd["elsewhere"] not in rows
    assert {row["status"] for row in rows.values()} == {Status.REGISTERED.value}


def test_the_room_filter_on_dynamodb_agrees_with_the_domain_rule(aws):
    """Seated people by room (the console's and the API's ``?session=&room=``)."""
    from chalicelib.ports import RoomMove

    ids = [_person(aws, n, language="en") for n in range(1, 6)]
    rooms = ["meeting:1", "meeting:2", "meeting:1", None, "watch"]
    for registration_id, room in zip(ids, rooms, strict=True):
        if room:
            moved = aws.registrations.move_rooms(
                registration_id, "conf", [RoomMove("education", None, room)]
            )
            assert moved
    everyone = aws.registrations.page("conf", RegistrationFilter(), 100, None).items
    for room in ("meeting:1", "meeting:2", "watch", "meeting:9"):
        where = RegistrationFilter(room=("education", room))
        expected = {r.registration_id for r in everyone if where.matches(r)}
        found = {r.registration_id for r in aws.registrations.every("conf", where, 2)}
        assert found == expected
    assert len(expected) == 0
    assert {
        r.registration_id
        for r in aws.registrations.every(
            "conf", RegistrationFilter(room=("education", "meeting:1")), 2
        )
    } == {ids[0], ids[2]}
