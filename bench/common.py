"""What several sections share: where the results go, this process's quiet
environment, the spread of samples and the timers, a fresh interpreter with the API
function's environment (as in Lambda), AWS on moto in this process; and the registrations
and campaign that campaign_fanout, campaign_sending and send_pacing build.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
REPORT = ROOT / "bench" / "report.html"  # the results as a page (bench/html_report.py)


# In this process, the functions' logs and metrics would bury the table: warnings only,
# and no metric documents (a few microseconds of JSON an invocation, beside milliseconds).
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def _spread(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def _timed(action: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def _cpu_per_call(action: Callable[[], Any], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls


def _lambda_environment(provisioner: Any) -> dict[str, str]:
    """What the API function gets in production: config.json's variables, then the
    template's."""
    from infra import template
    from infra.local.gateway import chalice_config

    env: dict[str, Any] = dict(chalice_config("prod").environment_variables)
    for resource in template()["Resources"].values():
        if "Type" not in resource:  # a completion of one of Chalice's functions
            variables = resource.get("Properties", {}).get("Environment", {})
            env.update(provisioner.resolve(variables.get("Variables", {})))
    return {k: str(v) for k, v in env.items()}


def _fresh_interpreter(
    code: str, env: dict[str, str], flags: tuple[str, ...] = ()
) -> tuple[Any, str]:
    """What a new interpreter running ``code`` prints last (JSON), and its stderr."""
    done = subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=ROOT,
        # A function's own environment: its metrics on, as in Lambda.
        env={
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
            "POWERTOOLS_METRICS_DISABLED": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"a fresh interpreter failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def _aws_in_process() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        MAJLIS_CHECK_SENDER_IDENTITY="false",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]  # an earlier section's embedded AWS, DynamoDB's own included
    from infra.local import embedded

    # As local mode runs it: no whole-table copy per transaction, moto's shortcuts.
    embedded.install_faithful_dynamodb()
    embedded.install_faithful_queues()
    embedded.install_quick_answers()
    embedded.install_quick_copies()
    embedded.install_quick_queries()
    embedded.install_quick_queues()


def _registrations(event_id: str, people: int) -> list[Any]:
    """``people`` registrations of one event, built without the request path."""
    from datetime import UTC, datetime

    from chalicelib.domain.ids import new_id
    from chalicelib.domain.registrations import Registration
    from tests.builders import person

    now = datetime(2027, 2, 1, tzinfo=UTC)
    languages = ["ar", "en", "tr", "fr", "es", "ur", "ms"]
    return [
        Registration.model_validate(
            {
                **person(n, language=languages[n % 7], email=f"p{n}@example.org"),
                "registration_id": new_id(),
                "event_id": event_id,
                "email_key": f"p{n}@example.org",
                "status": "registered",
                "sessions": ["education", "youth"],
                "source": "form",
                "created_at": now,
                "updated_at": now,
                "mail_requested_at": now,
            }
        )
        for n in range(people)
    ]


def _campaign(event_id: str) -> Any:
    from chalicelib.domain.campaigns import Audience, Campaign, Content
    from chalicelib.domain.ids import new_id

    return Campaign(
        campaign_id=new_id(),
        event_id=event_id,
        name="bench",
        audience=Audience(),
        content={
            "ar": Content(subject="إعلان {{first_name}}", text="{{sessions}}\n{{join_links}}")
        },
        created_at=datetime.now(UTC),
    )
