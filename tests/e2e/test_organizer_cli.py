"""The organisers' command line against local mode, as an organiser would use it."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys

import requests
import yaml

from chalicelib import organizer
from infra import PROJECT_DIR
from tests.builders import event_body, person, zoom_base_for
from tests.conftest import free_port

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
        {"recipients": 2, "by_language": {"ur": 2}, "fallbacks": {}, "suppressed": 0},
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


# -- finding Majlis, and not finding it ----------------------------------------------


def _command_line(cwd, *argv: str, **variables: str) -> subprocess.CompletedProcess:
    """``python -m chalicelib.organizer`` as an organiser runs it, in ``cwd``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "MAJLIS_")) and "proxy" not in name.lower()
    }
    env.update(PYTHONPATH=str(PROJECT_DIR), **variables)
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.organizer", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _local_dir(cwd, address: str, token: str):
    (cwd / ".local").mkdir()
    (cwd / ".local" / "address").write_text(address + "\n")
    (cwd / ".local" / "organizer-token").write_text(token + "\n")


def test_without_a_url_it_uses_the_address_make_run_wrote(local, tmp_path):
    assert (local.root / "address").read_text().strip() == local.url
    _local_dir(tmp_path, (local.root / "address").read_text().strip(), local.organizer_token)
    finished = _command_line(tmp_path, "stats", "demo")
    assert finished.returncode == 0, finished.stderr
    assert "registrations" in json.loads(finished.stdout)
    # MAJLIS_URL, then --url, come first
    elsewhere = f"http://127.0.0.1:{free_port()}"
    finished = _command_line(tmp_path, "stats", "demo", MAJLIS_URL=elsewhere)
    assert (finished.returncode, elsewhere in finished.stderr) == (1, True)
    finished = _command_line(tmp_path, "--url", local.url, "stats", "demo", MAJLIS_URL=elsewhere)
    assert finished.returncode == 0, finished.stderr


def test_nothing_listening_is_one_line_and_exit_code_1(tmp_path):
    address = f"http://127.0.0.1:{free_port()}"
    _local_dir(tmp_path, address, "mjt_some-token")
    finished = _command_line(tmp_path, "stats", "demo")
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert finished.stderr == f"Majlis is not answering at {address} (is make run running?)\n"
    assert finished.stdout == ""
    # no .local/address at all: local mode's default port
    (tmp_path / ".local" / "address").unlink()
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8000)) == 0:
            return  # something answers on 8000 here
    finished = _command_line(tmp_path, "stats", "demo")
    assert finished.returncode == 1
    assert finished.stderr == (
        "Majlis is not answering at http://127.0.0.1:8000 (is make run running?)\n"
    )


def _run_failing(monkeypatch, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("MAJLIS_TOKEN", "mjt_some-token")
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    out, err = io.StringIO(), io.StringIO()
    code = organizer.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_no_answer_in_time_is_one_line_and_exit_code_1(monkeypatch):
    monkeypatch.setattr(organizer, "TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        code, out, err = _run_failing(monkeypatch, "--url", url, "stats", "demo")
    assert (code, out) == (1, "")
    assert err == f"Majlis did not answer at {url} within 0.5 seconds\n"


def test_an_unknown_host_is_one_line_and_exit_code_1(monkeypatch):
    url = "http://majlis.invalid:8000"
    code, out, err = _run_failing(monkeypatch, "--url", url, "stats", "demo")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and url in err and "Traceback" not in err


def test_a_missing_token_or_file_is_one_line_and_exit_code_1(monkeypatch, tmp_path):
    monkeypatch.delenv("MAJLIS_TOKEN", raising=False)
    monkeypatch.setenv("MAJLIS_LOCAL_DIR", str(tmp_path / "nowhere"))
    out, err = io.StringIO(), io.StringIO()
    assert organizer.main(["stats", "demo"], out=out, err=err) == 1
    assert err.getvalue().startswith("no organizer token in ") and err.getvalue().count("\n") == 1
    code, _, err_text = _run_failing(monkeypatch, "event", "put", "demo", str(tmp_path / "x.yaml"))
    assert code == 1 and err_text.startswith("cannot read ") and err_text.count("\n") == 1
