"""The operators' command line mints tokens that the API accepts."""

from __future__ import annotations

import pytest

from chalicelib import auth, cli


def test_mint_token_prints_a_token_the_api_accepts(api, aws, capsys):
    assert cli.main(["mint-token", "--event", "conf", "--role", "read", "--label", "team"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("mjt_")
    response = api.http.get(
        "/events/conf/registrations", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    # read only: configuring the event is forbidden
    response = api.http.put(
        "/events/conf",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body="{}",
    )
    assert response.status_code == 403
    stored = aws.tokens.get(auth.token_hash(token))
    assert (stored["events"], stored["roles"], stored["label"]) == (["conf"], ["read"], "team")
    assert token not in str(stored)


def test_mint_token_refuses_bad_event_ids(aws):
    with pytest.raises(SystemExit):
        cli.main(["mint-token", "--event", "Not An Id", "--role", "read", "--label", "x"])


def test_redrive_moves_a_dead_letter_queue_back_once_the_cause_is_fixed(aws, capsys):
    import json

    import boto3

    sqs = boto3.client("sqs")
    dead = sqs.get_queue_url(QueueName="majlis-zoom-dlq")["QueueUrl"]
    live = sqs.get_queue_url(QueueName="majlis-zoom")["QueueUrl"]
    for n in range(3):
        job = {"type": "zoom_sync", "registration_id": f"r{n}", "reason": "auth: invalid client"}
        sqs.send_message(QueueUrl=dead, MessageBody=json.dumps(job))

    assert cli.main(["redrive", "majlis-zoom-dlq", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("auth: invalid client") == 3 and "found 3 message(s)" in shown
    assert cli.main(["redrive", "majlis-zoom-dlq"]) == 0
    assert "moved 3 message(s)" in capsys.readouterr().out

    def drain(url: str) -> list[dict]:
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            found += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return found

    assert sorted(job["registration_id"] for job in drain(live)) == ["r0", "r1", "r2"]
    assert drain(dead) == []


def test_redrive_refuses_a_queue_that_is_not_a_dead_letter_queue(aws):
    with pytest.raises(SystemExit):
        cli.main(["redrive", "majlis-mail"])
