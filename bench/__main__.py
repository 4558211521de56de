"""`make bench`: Majlis's figures, each beside a floor measured in the same run.

This machine is shared and noisy, so every figure is a median with its min–max over
repeated runs, and is read as a ratio to its floor rather than in absolute time.
Results go to the terminal and to bench/results.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"


def _spread(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def _fresh_interpreter_seconds(code: str, runs: int) -> list[float]:
    """Seconds a new interpreter spends in ``code`` (process start-up not included)."""
    program = (
        f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)"
    )
    # The environment Lambda gives the functions (.chalice/config.json) applies to both.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**os.environ, **config["environment_variables"], "PYTHONDONTWRITEBYTECODE": "1"}
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", program],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        samples.append(float(out.strip().splitlines()[-1]))
    return samples


def import_time(runs: int = 9) -> dict[str, Any]:
    floor = _fresh_interpreter_seconds("import chalice, boto3", runs)
    majlis = _fresh_interpreter_seconds("import app", runs)
    return {
        "floor": {"what": "import chalice, boto3", **_spread(floor)},
        "figure": {"what": "import app", **_spread(majlis)},
        "ratio": statistics.median(majlis) / statistics.median(floor),
    }


def _timed(action: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def request_path(runs: int = 200) -> dict[str, Any]:
    """AWS calls and handler time of POST /registrations, on moto in this process."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        MAJLIS_CHECK_SENDER_IDENTITY="false",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from infra.local.embedded import install_faithful_dynamodb

    install_faithful_dynamodb()  # as local mode runs it: no whole-table copy per transaction
    with mock_aws():
        import app
        from chalicelib import bootstrap, config
        from chalicelib.adapters.aws import client
        from chalicelib.usecases.events import put_event
        from infra.local.gateway import problem_client
        from infra.local.provision import Provisioner
        from tests.builders import event_body, person

        outputs = Provisioner("us-east-1").create_all()
        os.environ["MAJLIS_MAIL_QUEUE_URL"] = outputs["MailQueueUrl"]
        config.settings.cache_clear()
        wired = bootstrap.majlis()
        body = event_body(registration={"opens_at": "2020-01-01T00:00:00Z"}, capacity=None)
        put_event(wired, "bench", body)
        put_event(wired, "full", {**body, "capacity": 0})
        calls: list[str] = []
        for service in ("dynamodb", "sqs", "sesv2"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.append(model.name)
            )
        counter = iter(range(10**9))

        with problem_client(app.app) as api:

            def register(event_id: str, email: str) -> int:
                response = api.http.post(
                    f"/events/{event_id}/registrations",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps(person(1, email=email)),
                )
                return response.status_code

            def measure(event_id: str, fresh: bool) -> tuple[list[str], list[float]]:
                register(event_id, "warm@example.org")  # event cached, full event learnt
                register(event_id, "warm2@example.org")
                calls.clear()
                register(
                    event_id, f"probe{next(counter)}@example.org" if fresh else "warm@example.org"
                )
                one_request = list(calls)
                samples = _timed(
                    lambda: register(
                        event_id,
                        f"p{next(counter)}@example.org" if fresh else "warm@example.org",
                    ),
                    runs,
                )
                return one_request, samples

            new_calls, new_times = measure("bench", fresh=True)
            duplicate_calls, duplicate_times = measure("bench", fresh=False)
            waitlisted_calls, waitlisted_times = measure("full", fresh=True)

        db = client("dynamodb")
        table = config.settings().table_name

        def bare_transaction() -> None:
            n = next(counter)
            db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": f"BENCH#{n}"}, "sk": {"S": "A"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )

        floor = _timed(bare_transaction, runs)
    median_floor = statistics.median(floor)
    return {
        "floor": {"what": "one bare TransactWriteItems on the same moto", **_spread(floor)},
        "new": {
            "aws_calls": new_calls,
            **_spread(new_times),
            "ratio": statistics.median(new_times) / median_floor,
        },
        "duplicate": {
            "aws_calls": duplicate_calls,
            **_spread(duplicate_times),
            "ratio": statistics.median(duplicate_times) / median_floor,
        },
        "waitlisted": {
            "aws_calls": waitlisted_calls,
            **_spread(waitlisted_times),
            "ratio": statistics.median(waitlisted_times) / median_floor,
        },
    }


_NAIVE_TEXT = (
    "Dear {{ name }},\n{% for s in sessions %}* {{ s.title }}\n  {{ s.when }}\n"
    "  {{ s.url }}\n{% endfor %}"
)
_NAIVE_HTML = (
    "<p>Dear {{ name }},</p>{% for s in sessions %}<p><b>{{ s.title }}</b><br>"
    "{{ s.when }}<br><a href='{{ s.url }}'>Join</a></p>{% endfor %}"
)


def email_cpu(emails: int = 1000) -> dict[str, Any]:
    """CPU per confirmation (render, sign links, MIME, calendar) against a naive floor."""
    from email.message import EmailMessage

    from babel.dates import format_datetime
    from jinja2 import Environment

    from chalicelib.domain.events import LANGUAGES, Event
    from chalicelib.domain.registrations import Registration, RegistrationForm
    from chalicelib.links import registration_links
    from chalicelib.mail import mime
    from chalicelib.mail.render import registration_mail
    from infra.local.demo import demo_event
    from tests.fakes import TEST_KEYS

    event = Event.model_validate({**demo_event(), "id": "demo"})
    now = event.sessions[0].starts_at
    naive_env = Environment(autoescape=True)
    naive_text, naive_html = naive_env.from_string(_NAIVE_TEXT), naive_env.from_string(_NAIVE_HTML)

    def naive(registration: Registration) -> bytes:
        sessions = [
            {
                "title": s.title_in(registration.language, event.default_language),
                "when": format_datetime(
                    s.starts_at, "full", tzinfo=registration.timezone, locale=registration.language
                ),
                "url": "https://example.org/join/x",
            }
            for s in event.sessions
        ]
        message = EmailMessage()
        message["Subject"] = event.title_in(registration.language)
        message["From"] = event.sender.email
        message["To"] = registration.email
        message.set_content(naive_text.render(name=registration.first_name, sessions=sessions))
        message.add_alternative(
            naive_html.render(name=registration.first_name, sessions=sessions), subtype="html"
        )
        return message.as_bytes()

    def majlis_email(registration: Registration) -> bytes:
        links = registration_links(TEST_KEYS, "https://register.example.org", event, registration)
        rendered = registration_mail(event, registration, links, now)
        return mime.build(
            mime.Mail(
                sender_name=event.sender.name,
                sender_address=event.sender.email,
                recipient_name=registration.full_name,
                recipient_address=registration.email,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                language=registration.language,
                sent_at=now,
                reply_to=event.reply_to,
                calendar=rendered.calendar,
            )
        )

    rows = {}
    for language in LANGUAGES:
        form = RegistrationForm.model_validate(
            {
                "email": "amina@example.org",
                "first_name": "Amina",
                "last_name": "Rahman",
                "country": "MY",
                "language": language,
                "timezone": "Asia/Kuala_Lumpur",
                "consent": True,
            },
            context={"event": event},
        )
        registration = Registration.new("01m8k4e4s39a821wjg4my0bqy9", event, form, now)
        naive(registration)
        majlis_email(registration)  # warm: catalogs, templates
        floor, figure = [], []
        for _ in range(emails):
            start = time.process_time()
            naive(registration)
            floor.append(time.process_time() - start)
            start = time.process_time()
            majlis_email(registration)
            figure.append(time.process_time() - start)
        rows[language] = {
            "floor": _spread(floor),
            "figure": _spread(figure),
            "ratio": statistics.median(figure) / statistics.median(floor),
            "sessions": len(event.sessions),
        }
    return rows


def main() -> int:
    sys.path.insert(0, str(ROOT))
    results = {
        "import": import_time(),
        "registration": request_path(),
        "email_cpu": email_cpu(),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    ms = 1000.0
    imp = results["import"]
    print("\nMajlis benchmarks (median [min–max]; ratio = figure / floor, same run)\n")
    print(f"{'figure':<44}{'median':>10}{'range':>22}{'floor':>10}{'ratio':>8}")
    print(
        f"{'import app (fresh interpreter)':<44}{imp['figure']['median'] * ms:>8.0f}ms"
        f"{imp['figure']['min'] * ms:>12.0f}–{imp['figure']['max'] * ms:<7.0f}ms"
        f"{imp['floor']['median'] * ms:>8.0f}ms{imp['ratio']:>8.2f}"
    )
    reg = results["registration"]
    for name in ("new", "duplicate", "waitlisted"):
        row = reg[name]
        print(
            f"{'POST registration, ' + name:<44}{row['median'] * ms:>8.1f}ms"
            f"{row['min'] * ms:>12.1f}–{row['max'] * ms:<7.1f}ms"
            f"{reg['floor']['median'] * ms:>8.1f}ms{row['ratio']:>8.2f}"
            f"   AWS calls: {', '.join(row['aws_calls']) or 'none'}"
        )
    for language, row in results["email_cpu"].items():
        print(
            f"{'email CPU, ' + language + ' (8 sessions)':<44}"
            f"{row['figure']['median'] * ms:>8.2f}ms"
            f"{row['figure']['min'] * ms:>12.2f}–{row['figure']['max'] * ms:<7.2f}ms"
            f"{row['floor']['median'] * ms:>8.2f}ms{row['ratio']:>8.2f}"
        )
    print(f"\nfloors: {imp['floor']['what']}; {reg['floor']['what']};")
    print("        email: Jinja2 template + Babel date per session + EmailMessage (naive)")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
