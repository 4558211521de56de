"""challenge: what ALTCHA's proof of work costs each side.

- the request path: checking a solution (CPU, in this process) against the least any
  check does, reading the payload (base64 and JSON); making a challenge (one PBKDF2
  derivation at the configured work) against that derivation alone;
- a person: the median time headless Chromium takes to solve the default challenge on
  the real registration page (the widget's own measure of the work, and from the first
  focus to the tick, which includes fetching the challenge and the widget's 0.5 s
  minimum), against a bot solving the same work with altcha's Python solver on one
  core (the floor). Skipped, saying why, without Chromium.
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import _cpu_per_call, _spread

SOLVES = 15
CHROMIUM = Path(os.environ.get("MAJLIS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("MAJLIS_CHROMEDRIVER", "/usr/bin/chromedriver"))


def _request_path() -> dict[str, Any]:
    import hashlib

    import altcha

    from chalicelib import challenges
    from chalicelib.config import Settings
    from chalicelib.signed_links import Keys

    keys = Keys("k1", {"k1": "bench-secret"})
    now = datetime.now(UTC)
    made = challenges.new_challenge(keys, "bench", challenges.Work(10, 10), now)
    parsed = altcha.Challenge.from_dict(made)
    payload = altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()

    def check_it() -> None:
        challenges.check(keys, "bench", payload, now)

    def read_it() -> None:
        json.loads(base64.b64decode(payload))

    settings = Settings()
    work = challenges.Work(settings.challenge_cost, settings.challenge_counter)

    def make_it() -> None:
        challenges.new_challenge(keys, "bench", work, now)

    def derive_it() -> None:
        hashlib.pbkdf2_hmac("sha256", b"x" * 20, b"y" * 16, work.cost, 32)

    # Figure and floor taken in turns, so that the machine's moods fall on both alike.
    check, read, make, derive = [], [], [], []
    for _ in range(7):
        check.append(_cpu_per_call(check_it, 500))
        read.append(_cpu_per_call(read_it, 500))
    for _ in range(5):
        make.append(_cpu_per_call(make_it, 20))
        derive.append(_cpu_per_call(derive_it, 20))
    return {
        "check": {
            "figure": _spread(check),
            "floor": {"what": "reading the payload (base64, JSON)", **_spread(read)},
            "ratio": statistics.median(check) / statistics.median(read),
            "aws_calls": "none of its own: the use is one more item of the registration's write",
        },
        "make": {
            "figure": _spread(make),
            "floor": {"what": f"one PBKDF2 of {work.cost} iterations", **_spread(derive)},
            "ratio": statistics.median(make) / statistics.median(derive),
        },
        "work": {"cost": work.cost, "counter": work.counter},
    }


def _python_solves(local_url: str, runs: int) -> list[float]:
    """A bot's time per solution: altcha's own solver, one core."""
    import altcha
    import requests

    seconds = []
    for _ in range(runs):
        made = requests.get(f"{local_url}/events/bench-challenge/challenge", timeout=30).json()
        start = time.perf_counter()
        altcha.solve_challenge(altcha.Challenge.from_dict(made))
        seconds.append(time.perf_counter() - start)
    return seconds


def _browser_solves(local_url: str, runs: int) -> tuple[list[float], list[float]]:
    """(the widget's own time for the work, focus to tick) in seconds, per fresh page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.browser.conftest import FLAGS

    profile = tempfile.mkdtemp(prefix="majlis-bench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    work, wall = [], []
    try:
        for _ in range(runs):
            driver.get(f"{local_url}/events/bench-challenge/register?lang=ar")
            widget = "document.querySelector('altcha-widget')"
            deadline = time.monotonic() + 30
            while driver.execute_script(f"return !!{widget}.getState") is False:
                assert time.monotonic() < deadline, "the widget did not load"
                time.sleep(0.02)
            start = time.perf_counter()
            driver.find_element("id", "email").click()
            while driver.execute_script(f"return {widget}.getState()") != "verified":
                assert time.monotonic() < deadline, "the widget did not solve"
                time.sleep(0.01)
            wall.append(time.perf_counter() - start)
            value = driver.execute_script(
                "return document.querySelector('input[name=altcha]').value"
            )
            work.append(json.loads(base64.b64decode(value))["solution"]["time"] / 1000)
    finally:
        driver.quit()
    return work, wall


def _person(runs: int = SOLVES) -> dict[str, Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        return {"skipped": f"no Chromium at {CHROMIUM} (make browser installs it)"}
    from infra.local.runner import LocalMajlis
    from tests.builders import put_open_event

    with tempfile.TemporaryDirectory(prefix="majlis-bench-") as root:
        runner = LocalMajlis(root=Path(root), port=0, keep_state=False).start()
        try:
            put_open_event(runner.url, runner.organizer_token, "bench-challenge", challenge=True)
            work, wall = _browser_solves(runner.url, runs)
            bot = _python_solves(runner.url, runs)
        finally:
            runner.stop()
    return {
        "figure": {"what": "the widget's work in headless Chromium", **_spread(work)},
        "focus_to_tick": _spread(wall),
        "floor": {"what": "altcha's Python solver, one core (a bot)", **_spread(bot)},
        "ratio": statistics.median(work) / statistics.median(bot),
    }


def challenge() -> dict[str, Any]:
    return {"request_path": _request_path(), "person": _person()}
