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


def test_invite_organizer_grants_the_role_and_prints_a_link_that_signs_in(api, aws, capsys):
    from chalicelib.domain.organizers import organizer_key

    argv = ["invite-organizer", "--event", "conf", "--email", "huda@example.org"]
    assert cli.main([*argv, "--role", "send", "--language", "ar"]) == 0
    printed = capsys.readouterr().out
    link = next(word for word in printed.split() if "/console/signin/" in word)
    organizer = aws.organizers.organizer(organizer_key("huda@example.org"))
    assert organizer is not None and organizer.role_for("conf") == "send"
    assert organizer.language == "ar"
    answer = api.http.post(
        link.split("8000", 1)[1],
        headers={"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "none"},
        body="",
    )
    assert answer.status_code == 303 and "majlis_console=" in answer.headers["Set-Cookie"]


def test_invite_organizer_refuses_an_unknown_event_or_address(aws, capsys):
    argv = ["invite-organizer", "--role", "read"]
    assert cli.main([*argv, "--event", "nope", "--email", "a@example.org"]) == 2
    assert cli.main([*argv, "--event", "conf", "--email", "not an address"]) == 2
    assert "invite-organizer:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([*argv[:1], "--role", "owner", "--event", "conf", "--email", "a@example.org"])


@pytest.mark.parametrize("days", ["0", "-3", "367"])
def test_mint_token_refuses_a_token_that_never_expires_or_lives_too_long(aws, days):
    argv = ["mint-token", "--event", "conf", "--role", "read", "--label", "x", "--days", days]
    with pytest.raises(SystemExit):
        cli.main(argv)


def test_a_minted_token_expires_after_90_days_unless_said(aws, capsys):
    from datetime import datetime, timedelta

    assert cli.main(["mint-token", "--event", "conf", "--role", "read", "--label", "x"]) == 0
    stored = aws.tokens.get(auth.token_hash(capsys.readouterr().out.strip()))
    expires = datetime.fromisoformat(stored["expires_at"])
    assert expires - aws.clock() == timedelta(days=90)


def test_list_tokens_shows_every_token_but_never_a_token_and_revoke_takes_one_back(
    api, aws, capsys
):
    minted = {}
    for label, days in (("press office", "7"), ("registration desk", "30")):
        argv = ["mint-token", "--event", "conf", "--role", "read", "--label", label]
        assert cli.main([*argv, "--days", days]) == 0
        minted[label] = capsys.readouterr().out.strip()
    assert cli.main(["list-tokens"]) == 0
    shown = capsys.readouterr().out
    ids = {label: auth.token_hash(token)[:12] for label, token in minted.items()}
    for label, token in minted.items():
        line = next(line for line in shown.splitlines() if line.endswith(label))
        assert line.startswith(ids[label]) and "conf" in line and "read" in line
        assert token not in shown and token.removeprefix("mjt_") not in shown
    assert "2 token(s)" in shown

    assert cli.main(["revoke-token", ids["press office"]]) == 0
    assert f"revoked {ids['press office']} (press office)" in capsys.readouterr().out

    def status(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return api.http.get("/events/conf/registrations", headers=headers).status_code

    assert status(minted["press office"]) == 401
    assert status(minted["registration desk"]) == 200
    assert cli.main(["list-tokens"]) == 0
    assert "press office" not in capsys.readouterr().out

    assert cli.main(["revoke-token", ids["press office"]]) == 2  # gone already
    assert "no token has the id" in capsys.readouterr().err
    assert cli.main(["revoke-token", "not-an-id"]) == 2
    assert "12 hex digits" in capsys.readouterr().err
