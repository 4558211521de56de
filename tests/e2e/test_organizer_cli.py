"""The organisers' command line against local mode, as an organiser would use it."""

from __future__ import annotations

import io
import json

import requests
import yaml

from chalicelib import organizer
from tests.builders import event_body, person, zoom_base_for

EVENT = "cli-conf"


def _run(local, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = organizer.main(["--url", local.url, *argv], out=out, every=0.2)
    return code, out.getvalue()


def test_an_organiser_runs_the_conference_from_the_command_line(local, tmp_path, monkeypatch):
    monkeypatch.setenv("MAJLIS_TOKEN", local.organizer_token)
    event_file = tmp_path / "event.yaml"
    event_file.write_text(
        yaml.safe_dump(
            event_body(zoom_base_for(EVENT), registration={"opens_at": "2020-01-01T00:00:00Z"}),
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    assert _run(local, "event", "put", EVENT, str(event_file)) == (0, f"event {EVENT} saved\n")
    for n, language in enumerate(["ur", "ur", "ar"]):
        response = requests.post(
            f"{local.url}/events/{EVENT}/registrations",
            json=person(n, language=language, first_name=f"Person{n}"),
            timeout=30,
        )
        assert response.status_code == 201

    code, listed = _run(local, "registrations", "list", EVENT, "--language", "ur")
    assert code == 0
    assert sorted(json.loads(line)["first_name"] for line in listed.splitlines()) == [
        "Person0",
        "Person1",
    ]

    campaign_file = tmp_path / "day2.json"
    campaign_file.write_text(
        json.dumps(
            {
                "name": "Day 2",
                "audience": {"languages": ["ur"]},
                "content": {
                    "ar": {"subject": "اليوم الثاني", "text": "{{first_name}}"},
                    "ur": {"subject": "دوسرا دن", "text": "{{first_name}} {{join_links}}"},
                },
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    code, dry = _run(local, "campaign", "create", EVENT, str(campaign_file), "--dry-run")
    assert (code, json.loads(dry)) == (
        0,
        {"recipients": 2, "by_language": {"ur": 2}, "suppressed": 0},
    )
    code, sent = _run(local, "campaign", "create", EVENT, str(campaign_file), "--watch")
    assert code == 0, sent
    assert "done" in sent and "[##############################] 2/2" in sent and "sent 2" in sent

    code, stats = _run(local, "stats", EVENT)
    assert code == 0 and json.loads(stats)["registrations"]["registered"] == 3

    target = tmp_path / "registrations.csv"
    code, said = _run(local, "export", EVENT, str(target), "--language", "ar")
    assert (code, said) == (0, f"1 registrations written to {target}\n")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf") and b"Person2" in target.read_bytes()


def test_a_refusal_prints_the_problem_and_fails(local, tmp_path, monkeypatch):
    monkeypatch.setenv("MAJLIS_TOKEN", local.organizer_token)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"name": "x", "content": {"ar": {"subject": "s", "text": "{{ x }}"}}})
    )
    code, said = _run(local, "campaign", "create", "nope-event", str(bad))
    assert code == 1 and json.loads(said)["status"] == 404
    monkeypatch.setenv("MAJLIS_TOKEN", "mjt_not-a-token")
    code, said = _run(local, "stats", "nope-event")
    assert code == 1 and json.loads(said)["status"] == 401
