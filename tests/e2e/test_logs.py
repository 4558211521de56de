"""Logs: JSON, a correlation id on every line, never an email address or a name."""

from __future__ import annotations

import json
import time

import requests

from tests.builders import person


def test_a_registration_logs_ids_but_no_personal_data(local, capsys):
    # Given a registrant with a distinctive name and address
    body = person(
        901, email="Zuhra.Private@Example.org", first_name="Zuhrasecret", last_name="Qasimsecret"
    )
    # When they register and their confirmation is sent
    response = requests.post(f"{local.url}/events/demo/registrations", json=body, timeout=30)
    assert response.status_code == 201
    registration_id = response.json()["registration_id"]
    deadline = time.monotonic() + 15
    lines: list[dict] = []
    while time.monotonic() < deadline:
        captured = capsys.readouterr().out
        lines += [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
        if any(line.get("message") == "mail job" for line in lines):
            break
        time.sleep(0.2)
    # Then the request and the mail job were logged, as JSON with correlation ids
    logs = [line for line in lines if "_aws" not in line]  # the rest: metrics (EMF)
    messages = {line["message"] for line in logs}
    assert {"registration", "mail job"} <= messages
    mail = next(line for line in logs if line["message"] == "mail job")
    assert mail["registration_id"] == registration_id
    assert mail["outcome"] == "sent"
    assert all(line.get("correlation_id") for line in logs)
    assert any("Registrations" in line for line in lines if "_aws" in line)
    # And nothing personal appears anywhere in them, metrics included
    text = json.dumps(lines).lower()
    for secret in ("zuhra.private", "example.org", "zuhrasecret", "qasimsecret"):
        assert secret not in text
