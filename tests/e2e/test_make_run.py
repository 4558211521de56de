"""`make run`'s program, as a person runs it: start, use, Ctrl-C, start again."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from infra import PROJECT_DIR
from tests.builders import person
from tests.conftest import free_port


def _start(root: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PORT": str(port), "MAJLIS_LOCAL_DIR": str(root)}
    for name in list(env):
        if name.startswith(("AWS_", "MAJLIS_")) and name != "MAJLIS_LOCAL_DIR":
            del env[name]  # nothing from the test process leaks into local mode
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
        # The demo event is there, and a registration gets its email in the outbox
        assert len(requests.get(f"{url}/events/demo", timeout=10).json()["sessions"]) == 8
        created = requests.post(
            f"{url}/events/demo/registrations", json=person(1, language="tr"), timeout=10
        )
        assert created.status_code == 201
        registration_id = created.json()["registration_id"]
        deadline = time.monotonic() + 20
        while not list((tmp_path / "outbox").glob("*.eml")):
            assert time.monotonic() < deadline, "no email in the outbox"
            time.sleep(0.2)
    finally:
        _stop(process)
    assert (tmp_path / "state" / "table.jsonl").exists()

    # Started again: the registration is still there, and nothing is sent twice
    process, banner = _start(tmp_path, port)
    try:
        token = re.search(r"organizer token\s+(mjt_\S+)", banner).group(1)
        found = requests.get(
            f"{url}/events/demo/registrations/{registration_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert found.status_code == 200
        assert found.json()["language"] == "tr"
        again = requests.post(
            f"{url}/events/demo/registrations", json=person(1, language="tr"), timeout=10
        )
        assert again.status_code == 200
        time.sleep(1.5)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    finally:
        _stop(process)
