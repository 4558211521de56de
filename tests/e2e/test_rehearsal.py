"""``make rehearse`` with a small crowd: the packaged prod stage plays the conference and
its audit finds nothing wrong; without one action its role needs, the rehearsal fails
naming the function, the action and the resource."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import PROJECT_DIR

PUBLIC_URL = "https://majlis.example.org"


def _run(*command: str, cwd: Path = PROJECT_DIR, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAJLIS_"))}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make package STAGE=prod``, into a directory of the test's own."""
    out = tmp_path_factory.mktemp("prod")
    bin_dir = Path(sys.executable).parent
    env_region = {"AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [
            str(bin_dir / "chalice"),
            "package",
            "--stage",
            "prod",
            "--template-format",
            "yaml",
            "--merge-template",
            "infra/resources.yaml",
            str(out),
        ],
        cwd=PROJECT_DIR,
        env=os.environ | env_region,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for step in (["-m", "infra.stage", str(out), PUBLIC_URL], ["-m", "infra.bytecode", str(out)]):
        done = _run(sys.executable, *step)
        assert done.returncode == 0, done.stderr[-2000:]
    return out


def _rehearse(build: Path, work: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = work / "rehearsal.json"
    done = _run(
        sys.executable,
        "-m",
        "infra.rehearsal",
        "--build",
        str(build),
        "--work",
        str(work / "w"),
        "--report",
        str(report),
        *extra,
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads(report.read_text(encoding="utf-8"))


def test_the_conference_on_the_production_stack_leaves_nothing_wrong(build, tmp_path):
    done, report = _rehearse(build, tmp_path, "--people", "24")
    assert report["failures"] == [], done.stdout[-6000:]
    assert done.returncode == 0
    emails = report["emails"]
    assert emails["missing"] == emails["duplicated"] == emails["unexpected"] == 0
    assert emails["wrong_language"] == emails["wrong_time"] == 0
    # Over six a person: opt-in request and confirmation, a reminder for each day and
    # each session held, programme-change notices and announcements.
    assert emails["in_outbox"] == emails["owed"] > 24 * 6
    assert set(emails["by_kind"]) >= {
        "pending",
        "registered",
        "waitlisted",
        "cancelled",
        "announcement",
        "reminder",
        "change",
    }
    assert report["iam"]["denials"] == []
    assert report["iam"]["checks"] > 1000
    assert report["stats"]["drift"] == []
    assert report["logs"]["addresses_found"] == 0
    followed = report["links"]["followed"]
    assert followed.get("join 302", 0) > 0 and followed.get("manage 200", 0) > 0
    assert report["links"]["not_https_or_elsewhere"] == 0
    assert not any(int(status) >= 500 for status in report["http"]["by_status"])
    assert report["functions"]["APIHandler"]["invocations"] > 100
    assert {"dynamodb", "sqs", "ses", "sns", "logs", "secretsmanager"} <= set(
        report["calls"]["by_service"]
    )
    assert report["cost"]["total_usd"] > 0
    assert "Total" in report["cost"]["table"]


def test_without_one_needed_action_the_rehearsal_names_function_action_and_resource(
    build, tmp_path
):
    done, report = _rehearse(
        build,
        tmp_path,
        "--people",
        "20",
        "--drop",
        "MailWorkerRole:ses:SendEmail",
        "--stop-after",
        "burst",
    )
    assert done.returncode == 1
    (denial, *_) = report["iam"]["denials"]
    assert denial["function"] == "MailWorker"
    assert denial["action"] == "ses:SendEmail"
    assert denial["resource"].startswith("arn:aws:ses:us-east-1:123456789012:identity/")
    assert "DENIED function=MailWorker action=ses:SendEmail resource=arn:aws:ses:" in done.stdout
