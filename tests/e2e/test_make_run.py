"""`make run`'s program, as a person runs it: start, use, Ctrl-C, start again."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra import PROJECT_DIR
from tests.builders import person
from tests.conftest import free_port
from tests.e2e.test_local_restart import one_session_per_slot


def _environment(root: Path, **variables: str) -> dict[str, str]:
    env = {**os.environ, "MAJLIS_LOCAL_DIR": str(root)}
    for name in list(env):
        if name.startswith(("AWS_", "MAJLIS_")) and name != "MAJLIS_LOCAL_DIR":
            del env[name]  # nothing from the test process leaks into local mode
    return {**env, **variables}


def _start(root: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = _environment(root, PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = ""
    deadline = time.monotonic() + 60
    while "Ctrl-C stops everything" not in banner:
        line = process.stdout.readline()
        assert line or process.poll() is None, banner
        banner += line
        assert time.monotonic() < deadline, banner
    return process, banner


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def test_make_run_serves_the_demo_and_keeps_state_across_a_restart(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, banner = _start(tmp_path, port)
    try:
        # The banner names the API and the organizer token, which is also in a file
        token = re.search(r"organizer token\s+(mjt_\S+)", banner).group(1)
        assert url in banner
        assert (tmp_path / "organizer-token").read_text().strip() == token
        assert oct((tmp_path / "organizer-token").stat().st_mode)[-3:] == "600"
        # The address is written where the organisers' command line looks for it
        assert (tmp_path / "address").read_text() == url + "\n"
        zoom_url = re.search(r"Zoom stand-in\s+(\S+)", banner).group(1)
        assert "seeded now" in banner
        # The demo event is there, and a registration gets its email in the outbox
        event = requests.get(f"{url}/events/demo", timeout=10).json()
        assert len(event["sessions"]) == 8
        chosen = one_session_per_slot(event)
        created = requests.post(
            f"{url}/events/demo/registrations",
            json=person(1, language="tr", sessions=chosen),
            timeout=10,
        )
        assert created.status_code == 201
        registration_id = created.json()["registration_id"]
        deadline = time.monotonic() + 20
        while not list((tmp_path / "outbox").glob("*.eml")):
            assert time.monotonic() < deadline, "no email in the outbox"
            time.sleep(0.2)
    finally:
        _stop(process)
    for kept in ("table.jsonl", "signing-keys.json", "zoom.json"):
        assert (tmp_path / "state" / kept).exists(), kept

    # Started again: the registration is still there, and nothing is sent twice
    process, banner = _start(tmp_path, port)
    try:
        assert "kept from the last run" in banner
        assert re.search(r"Zoom stand-in\s+(\S+)", banner).group(1) == zoom_url
        assert requests.get(f"{url}/events/demo", timeout=10).json() == event
        token = re.search(r"organizer token\s+(mjt_\S+)", banner).group(1)
        found = requests.get(
            f"{url}/events/demo/registrations/{registration_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert found.status_code == 200
        assert found.json()["language"] == "tr"
        again = requests.post(
            f"{url}/events/demo/registrations",
            json=person(1, language="tr", sessions=chosen),
            timeout=10,
        )
        assert again.status_code == 200
        time.sleep(1.5)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    finally:
        _stop(process)


@pytest.mark.parametrize("variable", ["PORT", "MAJLIS_AWS_PORT"])
def test_a_port_in_use_is_one_line_that_says_how_to_choose_another(tmp_path, variable):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        variables = {"PORT": str(free_port()), variable: str(port)}
        finished = subprocess.run(
            [sys.executable, "-m", "infra.local"],
            cwd=PROJECT_DIR,
            env=_environment(tmp_path, **variables),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr + finished.stdout
    (line,) = finished.stderr.splitlines()
    assert f"port {port}" in line and "already in use" in line
    assert f"{variable}={port + 1} make run" in line
    assert not (tmp_path / "address").exists()


def test_a_damaged_state_file_is_one_line_that_says_what_to_do(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "signing-keys.json").write_text("{not json")
    finished = subprocess.run(
        [sys.executable, "-m", "infra.local"],
        cwd=PROJECT_DIR,
        env=_environment(tmp_path, PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr + finished.stdout
    (line,) = finished.stderr.splitlines()
    assert "signing-keys.json cannot be read" in line and "move it away" in line
