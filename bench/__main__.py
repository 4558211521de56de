"""`make bench`: Majlis's figures, each beside a floor measured in the same run.

This machine is shared and noisy, so every figure is a median with its min–max over
repeated runs, and is read as a ratio to its floor rather than in absolute time.
Results go to the terminal and to bench/results.json. ``python -m bench NAME …`` runs
the sections named (see ``SECTIONS``) and keeps the others' last results.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
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


def _api_gateway_event(resource: str, path: str, body: str) -> dict[str, Any]:
    """A POST as API Gateway (REST, proxy integration) hands it to the Lambda function."""
    names = [part.strip("{}") for part in resource.split("/") if part.startswith("{")]
    values = [
        value
        for part, value in zip(resource.split("/"), path.split("/"), strict=True)
        if "{" in part
    ]
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "POST",
        "headers": {"content-type": "application/json", "host": "api.example.org"},
        "multiValueQueryStringParameters": None,
        "pathParameters": dict(zip(names, values, strict=True)),
        "stageVariables": {},
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "POST",
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": "cold-start",
            "identity": {"sourceIp": "198.51.100.7"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


# A new Lambda container: it imports app.py, then serves its first request. Both programs
# time from their first line, so the interpreter's own start-up is in neither.
_COLD_APP = """
import json, time
from types import SimpleNamespace
start = time.perf_counter()
import app
imported = time.perf_counter()
context = SimpleNamespace(aws_request_id="cold-start", get_remaining_time_in_millis=lambda: 30000)
answer = app.app(json.loads(EVENT), context)
end = time.perf_counter()
print(json.dumps({"seconds": end - start, "import": imported - start,
                  "request": end - imported, "status": answer["statusCode"]}))
"""
# What no app on chalice and boto3 can do without: the imports, and the clients that the
# first request creates (with the same configuration as chalicelib/adapters/aws.py).
_COLD_FLOOR = """
import json, time
start = time.perf_counter()
import chalice, boto3
from botocore.config import Config
imported = time.perf_counter()
config = Config(connect_timeout=2, read_timeout=5,
                retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=50)
clients = [boto3.session.Session().client(service, config=config) for service in SERVICES]
end = time.perf_counter()
print(json.dumps({"seconds": end - start, "import": imported - start,
                  "clients": end - imported}))
"""
# Untimed: which clients the first request creates, and which AWS calls it makes.
_COLD_PROBE = """
import json
from types import SimpleNamespace
import botocore.client, botocore.session
services, calls = [], []
create_client = botocore.session.Session.create_client
def creating(self, service_name, *args, **kwargs):
    services.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = creating
make_api_call = botocore.client.BaseClient._make_api_call
def calling(self, operation, params):
    calls.append(f"{self.meta.service_model.service_name} {operation}")
    return make_api_call(self, operation, params)
botocore.client.BaseClient._make_api_call = calling
import app
context = SimpleNamespace(aws_request_id="probe", get_remaining_time_in_millis=lambda: 30000)
answer = app.app(json.loads(EVENT), context)
print(json.dumps({"clients": services, "calls": calls, "status": answer["statusCode"]}))
"""


def _first_registration(program: str, n: int) -> str:
    """``program`` with its EVENT: a new address registering for the event ``cold``."""
    from tests.builders import person

    body = json.dumps(person(n, email=f"cold{n}@example.org"))
    event = _api_gateway_event(
        "/events/{event_id}/registrations", "/events/cold/registrations", body
    )
    return program.replace("EVENT", repr(json.dumps(event)), 1)


def cold_start(runs: int = 15) -> dict[str, Any]:
    """A new container's ``import app`` and first registration, against the floor.

    AWS is moto's server on loopback (``AWS_ENDPOINT_URL``), provisioned from the
    template, as in local mode; each run registers a new address (201), as a first
    visitor would. Every program runs in turn in a fresh interpreter with the function's
    environment, three ways: the libraries with the bytecode pip compiled and our
    modules from source (the figure); everything with bytecode, as ``make package``
    ships it (``infra/bytecode.py``); and nothing with it, figure and floor alike — as
    Lambda would run what ``chalice package`` alone ships (sources and unpacked wheels,
    in a read-only /var/task where no bytecode can be cached).
    """
    from chalicelib import bootstrap, config
    from chalicelib.adapters import aws
    from chalicelib.usecases.events import put_event
    from infra.local.embedded import EmbeddedAws
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for

    saved = dict(os.environ)
    embedded = EmbeddedAws()
    caches = [tempfile.mkdtemp(prefix="majlis-pyc-") for _ in range(2)]
    compiled = {"PYTHONPYCACHEPREFIX": caches[0]}  # filled by one run below
    uncompiled = {"PYTHONPYCACHEPREFIX": caches[1]}  # stays empty: all from source
    try:
        embedded.start()
        provisioner = Provisioner(os.environ["AWS_DEFAULT_REGION"])
        provisioner.create_all()
        env = {
            **_lambda_environment(provisioner),
            **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        }
        os.environ.update({**env, **QUIET})
        config.settings.cache_clear()
        aws.client.cache_clear()
        body = event_body(zoom_base_for("cold"), registration={"opens_at": "2020-01-01T00:00:00Z"})
        put_event(bootstrap.on_aws(config.settings()), "cold", body)
        probe, _ = _fresh_interpreter(_first_registration(_COLD_PROBE, 0), env)
        services = sorted(set(probe["clients"]))
        floor_code = _COLD_FLOOR.replace("SERVICES", repr(services))
        writing = {**env, **compiled, "PYTHONDONTWRITEBYTECODE": ""}
        _fresh_interpreter(_first_registration(_COLD_APP, 10**6), writing)
        _fresh_interpreter(floor_code, writing)
        runs_of: dict[str, list[dict[str, float]]] = {}
        for n in range(1, runs + 1):
            for name, code, extra in (
                ("floor", floor_code, {}),
                ("figure", _first_registration(_COLD_APP, n), {}),
                ("precompiled", _first_registration(_COLD_APP, runs + n), compiled),
                ("floor_from_source", floor_code, uncompiled),
                ("from_source", _first_registration(_COLD_APP, 2 * runs + n), uncompiled),
            ):
                answer, _ = _fresh_interpreter(code, {**env, **extra})
                if answer.get("status", 201) != 201:
                    raise RuntimeError(f"the first registration answered {answer['status']}")
                runs_of.setdefault(name, []).append(answer)
        _, report = _fresh_interpreter(
            _first_registration(_COLD_APP, 3 * runs + 1), env, ("-X", "importtime")
        )
        _, floor_report = _fresh_interpreter(floor_code, env, ("-X", "importtime"))
    finally:
        embedded.stop()
        os.environ.clear()
        os.environ.update(saved)
        config.settings.cache_clear()
        aws.client.cache_clear()
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)

    def spread(name: str, part: str = "seconds") -> dict[str, float]:
        return _spread([answer[part] for answer in runs_of[name]])

    def ratio(name: str, floor: str = "floor") -> float:
        return spread(name)["median"] / spread(floor)["median"]

    return {
        "floor": {"what": f"import chalice, boto3; {' + '.join(services)} client"}
        | spread("floor"),
        "figure": {"what": "import app; first POST registration (201)"} | spread("figure"),
        "ratio": ratio("figure"),
        "import_app": spread("figure", "import"),
        "first_request": spread("figure", "request"),
        "floor_import": spread("floor", "import"),
        "floor_clients": spread("floor", "clients"),
        "precompiled": {"what": "the figure, everything with bytecode (as make package ships)"}
        | spread("precompiled"),
        "ratio_precompiled": ratio("precompiled"),
        "from_source": {
            "floor": spread("floor_from_source"),
            "figure": spread("from_source"),
            "ratio": ratio("from_source", "floor_from_source"),
            "what": "no bytecode at all, as Lambda runs what chalice package alone ships",
        },
        "first_request_clients": probe["clients"],
        "first_request_calls": probe["calls"],
        "imports": _import_profile(report, _imported(floor_report)),
    }


def _imported(report: str) -> frozenset[str]:
    """Every module an importtime report names."""
    return frozenset(
        line.split("|")[-1].strip()
        for line in report.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    )


def _import_profile(
    report: str, floor: frozenset[str] = frozenset(), top: int = 12
) -> dict[str, Any]:
    """Where the cold path's import time goes, from ``python -X importtime``'s report.

    ``edges``: each outside module that our own code (app.py, chalicelib) imports and the
    floor does not, with its cumulative time (less the floor's modules within it) and
    the module of ours that imported it
    ("first request" when a function did, while serving); ``by_package``: each top-level
    package's own time, over all its modules; ``beyond_floor``: the same, of the modules the floor
    does not import. Only what ``import app`` and the request import counts. importtime
    slows imports down: read the shares, not the absolute times.
    """
    roots: list[dict[str, Any]] = []
    pending: dict[int, list[dict[str, Any]]] = {}
    for line in report.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or not fields[0].strip().isdigit():
            continue
        self_us, cumulative_us, name = fields
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        node = {
            "name": name.strip(),
            "self": int(self_us) / 1e6,
            "cumulative": int(cumulative_us) / 1e6,
            "children": pending.pop(depth + 1, []),
        }
        (roots if depth == 0 else pending.setdefault(depth, [])).append(node)
    names = [node["name"] for node in roots]
    cold_path = roots[names.index("app") :] if "app" in names else []
    edges: list[dict[str, Any]] = []
    by_package: dict[str, float] = {}
    beyond_floor: dict[str, float] = {}

    def ours(name: str) -> bool:
        return name.split(".")[0] in ("app", "chalicelib")

    def beyond(node: dict[str, Any]) -> float:
        """A module's cumulative time, less what the floor imports too."""
        own = 0.0 if node["name"] in floor else node["self"]
        return own + sum(beyond(child) for child in node["children"])

    def walk(node: dict[str, Any], importer: str) -> None:
        package = node["name"].split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + node["self"]
        if node["name"] not in floor:
            beyond_floor[package] = beyond_floor.get(package, 0.0) + node["self"]
        if importer and not ours(node["name"]) and node["name"] not in floor:
            edges.append({"module": node["name"], "seconds": beyond(node), "imported_by": importer})
        for child in node["children"]:
            walk(child, node["name"] if ours(node["name"]) else "")

    for index, node in enumerate(cold_path):
        walk(node, "first request" if index else "")
    return {
        "edges": sorted(edges, key=lambda edge: -edge["seconds"])[:top],
        "by_package": _largest(by_package, top),
        "beyond_floor": _largest(beyond_floor, top),
        "total": sum(by_package.values()),
        "total_beyond_floor": sum(beyond_floor.values()),
    }


def _largest(seconds: dict[str, float], top: int) -> dict[str, float]:
    return dict(sorted(seconds.items(), key=lambda item: -item[1])[:top])


def _timed(action: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def _aws_in_process() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        MAJLIS_CHECK_SENDER_IDENTITY="false",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from infra.local.embedded import install_faithful_dynamodb

    install_faithful_dynamodb()  # as local mode runs it: no whole-table copy per transaction


def _item(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def request_path(runs: int = 200) -> dict[str, Any]:
    """AWS calls and handler time of POST /registrations, on moto in this process."""
    _aws_in_process()
    from moto import mock_aws

    with mock_aws():
        import app
        from chalicelib import bootstrap, config
        from chalicelib.adapters.aws import client
        from chalicelib.usecases.events import put_event
        from infra.local.gateway import problem_client
        from infra.local.provision import Provisioner
        from tests.builders import event_body, person, zoom_base_for

        outputs = Provisioner("us-east-1").create_all()
        os.environ["MAJLIS_MAIL_QUEUE_URL"] = outputs["MailQueueUrl"]
        config.settings.cache_clear()
        wired = bootstrap.majlis()
        opened = {"opens_at": "2020-01-01T00:00:00Z"}
        for event_id, capacity in (("bench", None), ("full", 0)):
            body = event_body(zoom_base_for(event_id), registration=opened, capacity=capacity)
            put_event(wired, event_id, body)
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

        def bare_registration_shape() -> None:
            """The items of a new registration's transaction, without the app around it."""
            n = next(counter)
            fresh = "attribute_not_exists(pk)"
            add_one = {":one": {"N": "1"}}
            db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": _item(f"R#{n}"),
                            "ConditionExpression": fresh,
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": _item(f"E#{n}"),
                            "ConditionExpression": fresh,
                        }
                    },
                    {
                        "Update": {
                            "TableName": table,
                            "Key": _item("EVENT#floor", "SEATS"),
                            "UpdateExpression": "ADD registered :one",
                            "ExpressionAttributeValues": add_one,
                        }
                    },
                    {
                        "Update": {
                            "TableName": config.settings().limits_table_name,
                            "Key": {"pk": {"S": "floor#0#address"}},
                            "UpdateExpression": "ADD hits :one",
                            "ExpressionAttributeValues": add_one,
                        }
                    },
                ]
            )

        floor = _timed(bare_transaction, runs)
        same_shape = _timed(bare_registration_shape, runs)
    median_floor = statistics.median(floor)
    return {
        "floor": {"what": "one bare TransactWriteItems on the same moto", **_spread(floor)},
        "floor_same_items": {
            "what": "one bare TransactWriteItems of a registration's 4 items",
            **_spread(same_shape),
            "ratio_new": statistics.median(new_times) / statistics.median(same_shape),
        },
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


def _cpu_per_call(action: Callable[[], Any], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls


def _link_check(batches: int, per_batch: int) -> dict[str, Any]:
    """CPU of one join link's signature check, against one bare HMAC-SHA256 and compare."""
    import hashlib
    import hmac
    import secrets
    from datetime import timedelta

    from chalicelib.domain.ids import new_id
    from chalicelib.links import Keys, Link, Purpose, sign, verify

    keys = Keys("k1", {"k1": secrets.token_urlsafe(32)})
    now = datetime.now(UTC)
    token = sign(keys, Link(Purpose.JOIN, new_id(), "education", 1, now + timedelta(days=3)))
    payload = token.rpartition(".")[0].encode("ascii")
    key = keys.secrets["k1"].encode("ascii")
    expected = hmac.new(key, payload, hashlib.sha256).digest()

    def bare() -> bool:
        return hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), expected)

    def check() -> Any:
        return verify(keys, Purpose.JOIN, token, now)

    check()  # warm: the signer for this key and purpose
    floor, figure = [], []
    for _ in range(batches):
        floor.append(_cpu_per_call(bare, per_batch))
        figure.append(_cpu_per_call(check, per_batch))
    return {
        "floor": {"what": "one HMAC-SHA256 of the token's payload, constant-time compare"}
        | _spread(floor),
        "figure": {"what": "links.verify of a join token"} | _spread(figure),
        "ratio": statistics.median(figure) / statistics.median(floor),
        "per_sample": per_batch,
    }


def join_click(runs: int = 200, batches: int = 50, per_batch: int = 2000) -> dict[str, Any]:
    """A join link's click: its signature check alone (CPU), and the whole click through
    the handler on moto in this process (time, AWS calls), against one bare UpdateItem.

    Each timed click is a different registrant's or session's link; the first click is
    a new container's (keys and event not yet read), the others are warm.
    """
    _aws_in_process()
    from moto import mock_aws

    link_check = _link_check(batches, per_batch)
    with mock_aws():
        import app
        from chalicelib import bootstrap, config
        from chalicelib.adapters import aws
        from chalicelib.adapters.aws import client
        from chalicelib.links import registration_links
        from chalicelib.usecases.events import put_event
        from chalicelib.usecases.registrations import register
        from infra.local.gateway import problem_client
        from infra.local.provision import Provisioner
        from tests.builders import event_body, person, zoom_base_for

        Provisioner("us-east-1").create_all()
        config.settings.cache_clear()
        aws.client.cache_clear()
        bootstrap.use(None)
        wired = bootstrap.majlis()
        opened = {"opens_at": "2020-01-01T00:00:00Z"}
        put_event(wired, "click", event_body(zoom_base_for("click"), registration=opened))
        event = wired.events.get("click", fresh=True)
        keys = wired.keys.keys()
        tokens = []
        for n in range(-(-(runs + 1) // len(event.sessions))):
            outcome = register(wired, "click", person(n, email=f"c{n}@example.org"), form=False)
            registration = wired.registrations.get(outcome.registration_id)
            links = registration_links(keys, "https://r.example.org", event, registration)
            tokens.extend(url.rsplit("/", 1)[1] for url in links.join.values())
        bootstrap.use(None)  # the API's container: keys and event not read yet
        calls: list[str] = []
        for service in ("dynamodb", "secretsmanager", "sqs", "sesv2"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.append(model.name)
            )
        # The click's own UpdateItem, kept to be sent again without the handler around it.
        sent: list[dict[str, Any]] = []
        client("dynamodb").meta.events.register(
            "provide-client-params.dynamodb.UpdateItem",
            lambda params, **_: sent.append(dict(params)),
        )
        left = iter(tokens)
        refused: list[int] = []

        with problem_client(app.app) as api:

            def click() -> None:
                status = api.http.get(f"/join/{next(left)}").status_code
                if status != 302:
                    refused.append(status)

            click()
            first = list(calls)
            calls.clear()
            clicks = _timed(click, runs)
        warm_calls = list(calls)
        table = config.settings().table_name
        db = client("dynamodb")
        the_click = sent[-1]
        same_call = _timed(lambda: db.update_item(**the_click), runs)

        def bare_update() -> None:
            db.update_item(
                TableName=table,
                Key={"pk": {"S": "BENCH#click"}, "sk": {"S": "A"}},
                UpdateExpression="SET clicks = :n",
                ExpressionAttributeValues={":n": {"N": "1"}},
            )

        floor = _timed(bare_update, runs)
    bootstrap.use(None)
    if refused:
        raise RuntimeError(f"clicks refused: {refused[:5]}")
    return {
        "link_check": link_check,
        "click": {
            "floor": {"what": "one bare UpdateItem on the same moto"} | _spread(floor),
            "figure": {"what": "GET /join/{token} through the handler (302)"} | _spread(clicks),
            "ratio": statistics.median(clicks) / statistics.median(floor),
            "same_call": {
                "what": "the click's own UpdateItem (condition, ALL_NEW), without the handler"
            }
            | _spread(same_call),
            "first_click_calls": first,
            "calls_per_click": len(warm_calls) / runs,
            "calls": dict(sorted(Counter(warm_calls).items())),
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


def _one_webinar(majlis: Any, event_id: str, zoom_id: str, people: int) -> list[str]:
    """An event whose one session is a webinar, and ``people`` registered for it."""
    from chalicelib.domain.events import Event
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.registrations import Registration, RegistrationForm
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body, person

    body = event_body(registration={"opens_at": "2020-01-01T00:00:00Z"}, capacity=None)
    body["sessions"] = [{**body["sessions"][0], "zoom": {"type": "webinar", "id": zoom_id}}]
    put_event(majlis, event_id, body)
    event = majlis.events.get(event_id, fresh=True)
    assert isinstance(event, Event)
    ids = []
    for n in range(people):
        fields = person(n, email=f"{event_id}{n}@example.org")
        form = RegistrationForm.model_validate(fields, context={"event": event})
        registration = Registration.new(new_id(), event, form, majlis.clock())
        majlis.registrations.add(registration, None)
        ids.append(registration.registration_id)
    return ids


def _zoom_worker(containers: list[Any], batches: list[list[str]]) -> dict[str, Any]:
    """The zoom worker draining its queue: one thread per container (the event source
    runs at most two), a batch of messages per call; what Zoom slows down comes back
    after its Retry-After, else the worker's backoff."""
    import heapq
    import threading

    from chalicelib.usecases import zoomsync
    from chalicelib.usecases.zoomworker import backoff

    ready = [(0.0, n, batch) for n, batch in enumerate(batches)]
    heapq.heapify(ready)
    lock = threading.Lock()
    totals = {"calls": 0, "synced": 0, "skipped": 0, "retried": 0, "dead": 0, "busy": 0}
    order = iter(range(len(batches), 10**9))
    start = time.perf_counter()

    def container(majlis: Any) -> None:
        while True:
            with lock:
                now = time.perf_counter() - start
                if not ready and not totals["busy"]:
                    return
                batch = heapq.heappop(ready)[2] if ready and ready[0][0] <= now else None
                totals["busy"] += batch is not None
            if batch is None:
                time.sleep(0.01)
                continue
            outcome = zoomsync.sync(majlis, batch)
            with lock:
                totals["busy"] -= 1
                totals["calls"] += outcome.calls
                totals["synced"] += outcome.synced
                totals["skipped"] += outcome.skipped
                totals["dead"] += len(outcome.dead)
                totals["retried"] += len(outcome.retry)
                # Messages made visible again together are received together.
                again: dict[int, list[str]] = {}
                for registration_id, after in outcome.retry.items():
                    again.setdefault(int(after) + 1 if after else backoff(1), []).append(
                        registration_id
                    )
                for delay, ids in again.items():
                    due = time.perf_counter() - start + delay
                    heapq.heappush(ready, (due, next(order), ids))

    threads = [threading.Thread(target=container, args=(m,)) for m in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del totals["busy"]
    return {**totals, "seconds": time.perf_counter() - start}


def _zoom_check(majlis: Any, zoom: Any, zoom_id: str, ids: list[str]) -> dict[str, Any]:
    added = [r["email"].lower() for r in zoom.registrants("webinar", zoom_id)]
    states: dict[str, int] = {}
    for registration in majlis.registrations.get_many(ids).values():
        state = registration.zoom_sync.get(registration.sessions[0], {}).get("state", "none")
        states[state] = states.get(state, 0) + 1
    return {
        "zoom_registrants": len(added),
        "duplicates": len(added) - len(set(added)),
        "most_adds_for_one_registrant": max(zoom.add_attempts(zoom_id, e) for e in added),
        "states": states,
    }


def zoom_sync(registrants: int = 5000, trickle: int = 150) -> dict[str, Any]:
    """Zoom API calls per registrant synced, and the time to fill one webinar.

    The zoom worker's sync with its real Zoom client, two containers (each with its own
    client, token and pacing), against the Zoom stand-in on loopback with the Pro plan's
    per-second limits. Registrations are kept in memory here, so that the figure is
    Zoom's side alone (table calls are counted by ``zoom_table_calls``). The floor is
    what the limits allow: batch adds are "heavy" (10 a second, 30 registrants each),
    single adds "light" (30 a second); Zoom holds 4,999 registrants a webinar.
    """
    import dataclasses

    from chalicelib.adapters.zoom import ZoomApi, ZoomCredentials
    from infra.local.runner import PRO_PLAN
    from infra.local.zoom import ZoomStandIn
    from tests.fakes import fake_majlis

    rows = {}
    with ZoomStandIn(rate_limits=PRO_PLAN) as zoom:
        credentials = ZoomCredentials(
            zoom.account_id, zoom.client_id, zoom.client_secret, zoom.webhook_secret_token
        )
        shared = fake_majlis()
        containers = [
            dataclasses.replace(
                shared, zoom=ZoomApi(lambda: credentials, zoom.api_url, zoom.oauth_url)
            )
            for _ in range(2)
        ]
        for name, people, zoom_id, per_message in (
            ("single", trickle, "85550000001", 1),  # registrations arriving one by one
            ("batched", registrants, "85550000002", 120),  # an import: the worker's batch
        ):
            ids = _one_webinar(shared, name, zoom_id, people)
            tokens = zoom.calls("token")
            batches = [ids[i : i + per_message] for i in range(0, len(ids), per_message)]
            row = _zoom_worker(containers, batches)
            row.update(_zoom_check(shared, zoom, zoom_id, ids))
            row["tokens"] = zoom.calls("token") - tokens
            row["registrants"] = people
            row["calls_per_registrant"] = row["calls"] / people
            fitting = min(people, zoom.capacity)
            calls = fitting if per_message == 1 else -(-fitting // 30)
            row["floor_seconds"] = calls / PRO_PLAN["light" if per_message == 1 else "heavy"]
            row["ratio"] = row["seconds"] / row["floor_seconds"]
            rows[name] = row
    return rows


def zoom_table_calls(registrants: int = 300) -> dict[str, Any]:
    """DynamoDB calls per registrant synced to Zoom, on moto in this process."""
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.usecases import zoomsync
    from infra.local.provision import Provisioner
    from infra.local.zoom import ZoomStandIn

    rows = {}
    with mock_aws(), ZoomStandIn() as zoom:
        provisioner = Provisioner("us-east-1")
        provisioner.create_all()
        secret = {
            "account_id": zoom.account_id,
            "client_id": zoom.client_id,
            "client_secret": zoom.client_secret,
            "webhook_secret_token": zoom.webhook_secret_token,
        }
        provisioner.client("secretsmanager").put_secret_value(
            SecretId=provisioner.refs["ZoomCredentials"], SecretString=json.dumps(secret)
        )
        os.environ.update(MAJLIS_ZOOM_API_URL=zoom.api_url, MAJLIS_ZOOM_OAUTH_URL=zoom.oauth_url)
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        calls: Counter[str] = Counter()
        client("dynamodb").meta.events.register(
            "before-call", lambda model, **_: calls.update([model.name])
        )
        for name, people, per_message in (("single", 30, 1), ("batched", registrants, 120)):
            ids = _one_webinar(majlis, name, f"8556000000{per_message % 10}", people)
            calls.clear()
            for i in range(0, len(ids), per_message):
                zoomsync.sync(majlis, ids[i : i + per_message])
            rows[name] = {
                "registrants": people,
                "per_registrant": {op: n / people for op, n in sorted(calls.items())},
                "total_per_registrant": sum(calls.values()) / people,
            }
    return rows


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


def _fan_out_measured(majlis: Any, campaign_id: str) -> dict[str, Any]:
    import tracemalloc

    from chalicelib.usecases import campaigns

    tracemalloc.start()
    start = time.perf_counter()
    steps = 0
    while campaigns.fan_out(majlis, campaign_id, lambda: 0).outcome == "continue":
        steps += 1  # each step a fresh invocation would take, from the checkpoint
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mib": peak / 2**20, "steps": steps + 1}


def campaign_fanout(in_moto: int = 10_000, in_memory: int = 100_000) -> dict[str, Any]:
    """Fan-out of a campaign to everyone: calls per recipient, peak memory, wall time.

    At ``in_moto`` the stores are DynamoDB and SQS on moto (the calls are real calls);
    moto's index queries cost it far more than DynamoDB (its Query re-reads the whole
    index each page), so ``in_memory`` runs the same fan-out on the in-memory stores and
    counts the calls those stores stand for.
    """
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo import registration_item
    from chalicelib.domain.events import Event
    from chalicelib.usecases.events import put_event
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for
    from tests.fakes import fake_majlis

    rows: dict[str, Any] = {}
    with mock_aws():
        provisioner = Provisioner("us-east-1")
        outputs = provisioner.create_all()
        os.environ.update(
            MAJLIS_TABLE_NAME=outputs["TableName"],
            MAJLIS_MAIL_QUEUE_URL=outputs["MailQueueUrl"],
            MAJLIS_CAMPAIGN_QUEUE_URL=outputs["CampaignQueueUrl"],
        )
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        put_event(majlis, "fanout", event_body(zoom_base_for("fanout"), capacity=None))
        db = client("dynamodb")
        people = _registrations("fanout", in_moto)
        for i in range(0, len(people), 25):
            chunk = people[i : i + 25]
            db.batch_write_item(
                RequestItems={
                    outputs["TableName"]: [
                        {"PutRequest": {"Item": registration_item(r)}} for r in chunk
                    ]
                }
            )
        campaign = _campaign("fanout")
        majlis.campaigns.create(campaign)
        calls: Counter[str] = Counter()
        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        row = _fan_out_measured(majlis, campaign.campaign_id)
        row.update(
            recipients=in_moto,
            where="moto",
            per_recipient={op: n / in_moto for op, n in sorted(calls.items())},
            calls_per_recipient=sum(calls.values()) / in_moto,
        )
        rows[str(in_moto)] = row

    majlis = fake_majlis()
    body = {**event_body(zoom_base_for("fanout"), capacity=None), "id": "fanout"}
    majlis.events.put(Event.model_validate(body), majlis.clock())
    for registration in _registrations("fanout", in_memory):
        majlis.registrations.registrations[registration.registration_id] = registration
    campaign = _campaign("fanout")
    majlis.campaigns.create(campaign)
    row = _fan_out_measured(majlis, campaign.campaign_id)
    stored = majlis.campaigns.get(campaign.campaign_id)
    # What DynamoDB and SQS would be asked: per page a GetItem (the campaign), a Query
    # (500 items fit in 1 MB), an UpdateItem (the checkpoint); per 10 messages of 50
    # recipients a SendMessageBatch.
    pages = len(majlis.campaigns.advances)
    batches = -(-len(majlis.mail_queue.jobs) // 10)
    row.update(
        recipients=in_memory,
        where="in-memory stores",
        queued=stored.queued if stored else 0,
        per_recipient={
            "GetItem": pages / in_memory,
            "Query": pages / in_memory,
            "UpdateItem": pages / in_memory,
            "SendMessageBatch": batches / in_memory,
        },
        calls_per_recipient=(3 * pages + batches) / in_memory,
    )
    rows[str(in_memory)] = row
    return rows


def campaign_sending(recipients: int = 400) -> dict[str, Any]:
    """AWS calls per recipient to send a campaign, on moto (SES included)."""
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo import registration_item
    from chalicelib.usecases import campaigns
    from chalicelib.usecases.events import put_event
    from chalicelib.usecases.mail import CampaignJob, send_campaign_mail
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for

    with mock_aws():
        provisioner = Provisioner("us-east-1")
        outputs = provisioner.create_all()
        os.environ.update(
            MAJLIS_TABLE_NAME=outputs["TableName"],
            MAJLIS_MAIL_QUEUE_URL=outputs["MailQueueUrl"],
            MAJLIS_SES_MAX_SEND_RATE="200",
            MAJLIS_SES_MAX_24_HOUR_SEND="1000000",
        )
        client("sesv2").create_email_identity(EmailIdentity="example.org")
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        put_event(majlis, "send", event_body(zoom_base_for("send"), capacity=None))
        people = _registrations("send", recipients)
        for r in people:
            client("dynamodb").put_item(TableName=outputs["TableName"], Item=registration_item(r))
        campaign = _campaign("send")
        majlis.campaigns.create(campaign)
        campaigns.fan_out(majlis, campaign.campaign_id, lambda: 900)
        jobs = []
        sqs = client("sqs")
        while True:
            got = sqs.receive_message(QueueUrl=outputs["MailQueueUrl"], MaxNumberOfMessages=10)
            if not got.get("Messages"):
                break
            for message in got["Messages"]:
                jobs.append(CampaignJob.parse(json.loads(message["Body"])))
                sqs.delete_message(
                    QueueUrl=outputs["MailQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
                )
        calls: Counter[str] = Counter()
        for service in ("dynamodb", "sesv2", "ses", "sqs"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        start = time.perf_counter()
        sent = sum(send_campaign_mail(majlis, job).get("sent", 0) for job in jobs)
        seconds = time.perf_counter() - start
    return {
        "recipients": recipients,
        "sent": sent,
        "seconds": seconds,
        "per_recipient": {op: n / recipients for op, n in sorted(calls.items())},
        "calls_per_recipient": sum(calls.values()) / recipients,
    }


def send_pacing(rates: tuple[int, ...] = (14, 200), seconds: float = 10.0) -> dict[str, Any]:
    """Achieved send rate against a simulated MaxSendRate, several workers at once.

    The turns come from the real pacer on moto's DynamoDB; SES is a stand-in that
    throttles above the rate (a token bucket, 40 ms a call); registrations, campaign
    and send records are in memory, so that moto's CPU cost does not slow the workers.
    """
    from concurrent.futures import ThreadPoolExecutor

    _aws_in_process()
    from moto import mock_aws

    from chalicelib.adapters.pacer import DynamoSendPacer
    from chalicelib.domain.events import Event
    from chalicelib.usecases import campaigns
    from chalicelib.usecases.mail import CampaignJob, send_campaign_mail
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for
    from tests.fakes import RateLimitedSes, fake_majlis

    rows = {}
    with mock_aws():
        outputs = Provisioner("us-east-1").create_all()
        for rate in rates:
            majlis = fake_majlis()
            majlis.clock = lambda: datetime.now(UTC)
            majlis.pacer = DynamoSendPacer(outputs["TableName"])
            ses = RateLimitedSes(rate, latency=0.04)
            majlis.mailer = ses
            body = {**event_body(zoom_base_for("paced"), capacity=None), "id": "paced"}
            majlis.events.put(Event.model_validate(body), majlis.clock())
            people = int(rate * seconds)
            for registration in _registrations("paced", people):
                majlis.registrations.registrations[registration.registration_id] = registration
            campaign = _campaign("paced")
            majlis.campaigns.create(campaign)
            campaigns.fan_out(majlis, campaign.campaign_id, lambda: 900)
            jobs = [CampaignJob.parse(job) for job in majlis.mail_queue.jobs]
            workers = max(2, min(len(jobs), rate // 10))
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(send_campaign_mail, [majlis] * len(jobs), jobs))
            elapsed = time.perf_counter() - start
            sent = sum(outcome.get("sent", 0) for outcome in outcomes)
            rows[str(rate)] = {
                "rate": rate,
                "workers": workers,
                "sent": sent,
                "seconds": elapsed,
                "achieved_per_second": sent / elapsed,
                "fraction": sent / elapsed / rate,
                "throttled": ses.throttled,
                "turns_only": _turns_only(outputs["TableName"], rate, seconds, workers),
            }
    return rows


def _turns_only(table: str, rate: int, seconds: float, workers: int) -> dict[str, Any]:
    """The pacer alone: workers that take turns and send a ready message, nothing else.

    On this machine (2 cores) building an announcement costs a few milliseconds of CPU,
    so one process cannot render 200 a second for many workers; this isolates what the
    shared turns allow.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from chalicelib.adapters.pacer import DynamoSendPacer
    from chalicelib.ports import Throttled
    from chalicelib.usecases.mail import IN_FLIGHT, Pace
    from tests.fakes import RateLimitedSes

    ses = RateLimitedSes(rate, latency=0.04)
    shared = SimpleNamespace(pacer=DynamoSendPacer(table), mailer=ses)
    total = int(rate * seconds)
    per_worker = -(-total // workers)
    sent = [0] * workers

    def worker(index: int) -> None:
        # As a mail worker does: take turns in order, send from a pool of IN_FLIGHT.
        pace = Pace(shared, ahead=IN_FLIGHT)
        in_flight = threading.BoundedSemaphore(IN_FLIGHT)

        def send(turn: float) -> None:
            pace.wait_until(turn)
            with contextlib.suppress(Throttled):  # the stand-in counts it
                ses.send(b"", "a@example.org", "b@example.org", {})
                sent[index] += 1
            in_flight.release()

        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            for left in range(per_worker, 0, -1):
                in_flight.acquire()
                pool.submit(send, pace.next_turn(left))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "sent": sum(sent),
        "seconds": elapsed,
        "fraction": sum(sent) / elapsed / rate,
        "throttled": ses.throttled,
    }


def http_load(
    registrations: int = 2000,
    registering: int = 50,
    clicks: int = 5000,
    clicking: int = 100,
    backlog_seconds: float = 60.0,
) -> dict[str, Any]:
    """Local mode over HTTP: registrations, then join clicks, each beside the same load
    on a route that touches no AWS (``GET /assets/page.css``), sent just before it by
    the same clients from the same addresses.

    The registrations run as ``make run`` serves them, the event pump working off what
    they set off (emails, Zoom sync, and the stand-in's webhooks back) in the same
    process; what is left when they end is watched for ``backlog_seconds`` (the
    backlog). Then that work is paused (nothing lost: the pump and the stand-in hold
    their next batch and webhook) and as many registrations again show the requests
    alone; the clicks run on that quiet server, with links signed by local mode's key as
    the emails sign them (checked against the emails already sent).
    """
    from bench.load import LocalServer, Request, drive, join_links, join_tokens
    from tests.builders import LANGUAGES, person

    css = Request("GET", "/assets/page.css")

    def people(first: int) -> list[Request]:
        return [
            Request(
                "POST",
                "/events/demo/registrations",
                json.dumps(
                    person(n, email=f"load{n}@example.org", language=LANGUAGES[n % len(LANGUAGES)])
                ).encode(),
                {"Content-Type": "application/json"},
            )
            for n in range(first, first + registrations)
        ]

    with LocalServer() as server:
        drive(server.port, [css] * registering * 4, registering)  # warm: threads, connections
        floor = drive(server.port, [css] * registrations, registering)
        before = server.counts()
        live = drive(server.port, people(0), registering, keep=True)
        during = server.counts()
        backlog = _backlog(server, live.statuses[201], backlog_seconds)
        backlog["during_registrations"] = {k: during[k] - before[k] for k in during}
        backlog["pause_seconds"] = server.pause()
        quiet = drive(server.port, people(registrations), registering)
        registered = [json.loads(body)["registration_id"] for body in live.answers]
        tokens = join_links(server, registered)
        emailed = set(join_tokens(server.emails()))
        backlog["links_in_emails"] = len(emailed)
        backlog["links_in_emails_unlike_minted"] = len(emailed - set(tokens))
        if not emailed or emailed - set(tokens):
            raise RuntimeError("no emails, or links in them unlike those minted here")
        click_floor = drive(server.port, [css] * clicks, clicking)
        joins = drive(
            server.port, [Request("GET", f"/join/{t}") for t in tokens[:clicks]], clicking
        )
        server.resume()
        backlog["dead_letters"] = {k: n for k, n in server.queues().items() if k.endswith("-dlq")}
        backlog["server_failures"] = server.failures()

    def row(figure: Any, base: Any, what: str, clients: int) -> dict[str, Any]:
        shown, under = figure.summary(), base.summary()
        return {
            "floor": {"what": "GET /assets/page.css, loaded the same way"} | under,
            "figure": {"what": what} | shown,
            "ratio": shown["p50"] / under["p50"],
            "throughput_ratio": under["per_second"] / shown["per_second"],
            "clients": clients,
        }

    return {
        "registrations": row(live, floor, "POST registration, pump running", registering),
        "registrations_pump_paused": row(
            quiet, floor, "POST registration, pump paused", registering
        ),
        "join_clicks": row(joins, click_floor, "GET /join/{token}, pump paused", clicking),
        "backlog": backlog,
    }


def _backlog(server: Any, owed: int, seconds: float) -> dict[str, Any]:
    """What the pump still owes when the registrations end, and how fast it pays."""
    emails, queues = len(server.emails()), server.queues()
    time.sleep(seconds)
    later = len(server.emails())
    rate = (later - emails) / seconds
    return {
        "emails_owed": owed,
        "emails_when_registrations_ended": emails,
        "queues_when_registrations_ended": queues,
        "window_seconds": seconds,
        "emails_after_window": later,
        "queues_after_window": server.queues(),
        "emails_per_second": rate,
        "projected_seconds_to_send_all": (owed - later) / rate if rate else None,
    }


# -- the table and results.json -------------------------------------------------------

MS = 1000.0


def _row(title: str, figure: dict[str, Any], floor: float, ratio: float, note: str = "") -> None:
    """One line: the figure's median and min–max, the floor's median, their ratio."""
    print(
        f"{title:<44}{figure['median'] * MS:>8.1f}ms"
        f"{figure['min'] * MS:>12.1f}–{figure['max'] * MS:<7.1f}ms"
        f"{floor * MS:>8.1f}ms{ratio:>8.2f}{'   ' + note if note else ''}"
    )


def _show_cold_start(cold: dict[str, Any]) -> None:
    _row(
        "cold start: import app + first registration",
        cold["figure"],
        cold["floor"]["median"],
        cold["ratio"],
        f"import app {cold['import_app']['median'] * MS:.0f} ms (floor's imports"
        f" {cold['floor_import']['median'] * MS:.0f}), first request"
        f" {cold['first_request']['median'] * MS:.0f} ms (floor's client"
        f" {cold['floor_clients']['median'] * MS:.0f}; {', '.join(cold['first_request_calls'])})",
    )
    _row(
        "cold start, all with bytecode (make package)",
        cold["precompiled"],
        cold["floor"]["median"],
        cold["ratio_precompiled"],
        "as deployed: the bundle carries its bytecode (infra/bytecode.py)",
    )
    source = cold["from_source"]
    _row(
        "cold start, no bytecode (chalice package alone)",
        source["figure"],
        source["floor"]["median"],
        source["ratio"],
        "floor and figure both compile every module they import, as on Lambda",
    )
    edges = ", ".join(
        f"{e['module']} {e['seconds'] * MS:.0f} ms ({e['imported_by']})"
        for e in cold["imports"]["edges"][:8]
    )
    beyond = ", ".join(f"{p} {s * MS:.0f}" for p, s in cold["imports"]["beyond_floor"].items())
    print(f"{'':<6}imported by our code, not by the floor (importtime, ms): {edges}")
    print(
        f"{'':<6}own time of what the floor does not import, by package"
        f" ({cold['imports']['total_beyond_floor'] * MS:.0f} ms in all): {beyond}"
    )
    print(f"{'':<6}floor: {cold['floor']['what']}")


def _show_registration(reg: dict[str, Any]) -> None:
    for name in ("new", "duplicate", "waitlisted"):
        row = reg[name]
        _row(
            "POST registration, " + name,
            row,
            reg["floor"]["median"],
            row["ratio"],
            f"AWS calls: {', '.join(row['aws_calls']) or 'none'}",
        )
    print(f"{'':<6}floor: {reg['floor']['what']}")
    same = reg.get("floor_same_items")
    if same:
        print(
            f"{'':<6}{same['what']}: {same['median'] * MS:.1f} ms; a new registration is"
            f" {same['ratio_new']:.2f}× that (the rest is the handler's own work)"
        )


def _show_join_click(join: dict[str, Any]) -> None:
    check = join["link_check"]
    print(
        f"{'join link signature check (CPU)':<44}{check['figure']['median'] * 1e6:>8.1f}µs"
        f"{check['figure']['min'] * 1e6:>12.1f}–{check['figure']['max'] * 1e6:<7.1f}µs"
        f"{check['floor']['median'] * 1e6:>8.1f}µs{check['ratio']:>8.2f}"
    )
    click = join["click"]
    calls = ", ".join(f"{op} {n}" for op, n in click["calls"].items())
    _row(
        "join click through the handler (moto)",
        click["figure"],
        click["floor"]["median"],
        click["ratio"],
        f"{click['calls_per_click']:.2f} AWS calls a click ({calls});"
        f" a new container's first: {', '.join(click['first_click_calls'])};"
        f" its UpdateItem alone {click['same_call']['median'] * MS:.1f} ms",
    )
    print(f"{'':<6}floors: {check['floor']['what']}; {click['floor']['what']}")


def _show_http_load(load: dict[str, Any]) -> None:
    for name, title in (
        ("registrations", "HTTP registrations"),
        ("registrations_pump_paused", "HTTP registrations, pump paused"),
        ("join_clicks", "HTTP join clicks, pump paused"),
    ):
        row = load[name]
        figure, floor = row["figure"], row["floor"]
        _row(
            f"{title}, p50",
            {"median": figure["p50"], "min": figure["min"], "max": figure["max"]},
            floor["p50"],
            row["ratio"],
            f"{figure['requests']:,} from {row['clients']} clients; p99"
            f" {figure['p99'] * MS:.0f} ms (floor {floor['p99'] * MS:.0f});"
            f" {figure['per_second']:.0f}/s (floor {floor['per_second']:.0f}/s,"
            f" {row['throughput_ratio']:.2f}×); error statuses {figure['error_statuses']},"
            f" connection errors"
            f" {sum(figure['connection_errors'].values())}",
        )
    backlog = load["backlog"]
    print(
        f"{'':<6}pump backlog: {backlog['emails_when_registrations_ended']} of"
        f" {backlog['emails_owed']} emails sent when the registrations ended,"
        f" {backlog['emails_after_window']} after {backlog['window_seconds']:.0f} s more"
        f" ({backlog['emails_per_second']:.1f}/s; all in"
        f" {_seconds(backlog['projected_seconds_to_send_all'])} at that pace); queues then"
        f" {_nonzero(backlog['queues_after_window'])}; dead letters"
        f" {sum(backlog['dead_letters'].values())}; server: {_failures(backlog['server_failures'])}"
    )
    during = backlog["during_registrations"]
    print(
        f"{'':<6}while the registrations ran: {during['pump_invocations']} pump invocations,"
        f" {during['webhooks']} Zoom webhooks posted to the API;"
        f" pausing took {backlog['pause_seconds']:.1f} s (handlers running to their end)"
    )
    print(f"{'':<6}floors: {load['registrations']['floor']['what']}")


def _failures(failures: dict[str, Any]) -> str:
    raised = ", ".join(f"{n} {name}" for name, n in failures["tracebacks"].items())
    by_client = ", ".join(f"{n} {who}" for who, n in failures["requests_failed_by_client"].items())
    return (
        f"{failures['error_lines']} error logs; tracebacks: {raised or 'none'};"
        f" requests failed by client: {by_client}"
    )


def _nonzero(depths: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in depths.items() if n) or "empty"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _show_email_cpu(rows: dict[str, Any]) -> None:
    for language, row in rows.items():
        print(
            f"{'email CPU, ' + language + ' (8 sessions)':<44}"
            f"{row['figure']['median'] * MS:>8.2f}ms"
            f"{row['figure']['min'] * MS:>12.2f}–{row['figure']['max'] * MS:<7.2f}ms"
            f"{row['floor']['median'] * MS:>8.2f}ms{row['ratio']:>8.2f}"
        )
    print(f"{'':<6}floor: a Jinja2 template, a Babel date per session, an EmailMessage (naive)")


def _show_zoom(rows: dict[str, Any]) -> None:
    for name, label in (("single", "one at a time"), ("batched", "an import")):
        row = rows[name]
        title = f"Zoom sync, {row['registrants']} to a webinar, {label}"
        print(
            f"{title:<44}"
            f"{row['seconds']:>8.1f}s {'':>20}{row['floor_seconds']:>8.1f}s{row['ratio']:>8.2f}"
            f"   {row['calls_per_registrant']:.3f} calls/registrant, {row['tokens']} token,"
            f" {row['duplicates']} duplicates, max {row['most_adds_for_one_registrant']} adds"
            f" per registrant; {row['states']}"
        )
    print(f"{'':<6}floor: what the Pro plan's per-second limits allow (30 light, 10 heavy calls/s)")


def _show_zoom_table(rows: dict[str, Any]) -> None:
    for name, row in rows.items():
        counts = ", ".join(f"{op} {n:.2f}" for op, n in row["per_registrant"].items())
        print(
            f"{f'DynamoDB calls per registrant synced, {name}':<44}"
            f"{row['total_per_registrant']:>10.2f}   ({counts})"
        )


def _show_campaign_fanout(rows: dict[str, Any]) -> None:
    for size, row in rows.items():
        counts = ", ".join(f"{op} {n:.4f}" for op, n in row["per_recipient"].items())
        print(
            f"{f'campaign fan-out, {int(size):,} recipients':<44}{row['seconds']:>8.1f}s"
            f"   peak {row['peak_mib']:.1f} MiB, {row['steps']} steps,"
            f" {row['calls_per_recipient']:.4f} calls/recipient ({counts}; {row['where']})"
        )


def _show_campaign_sending(row: dict[str, Any]) -> None:
    counts = ", ".join(f"{op} {n:.3f}" for op, n in row["per_recipient"].items())
    print(
        f"{'campaign sending, calls per recipient':<44}{row['calls_per_recipient']:>10.2f}"
        f"   ({counts})"
    )


def _show_send_pacing(rows: dict[str, Any]) -> None:
    for rate, row in rows.items():
        print(
            f"{f'send pacing at MaxSendRate {rate}/s':<44}{row['achieved_per_second']:>8.1f}/s"
            f"{'':>20}{float(rate):>8.1f}/s{row['fraction']:>8.2f}"
            f"   {row['sent']} sent by {row['workers']} workers, {row['throttled']} throttled;"
            f" turns alone: {row['turns_only']['fraction']:.2f} of the rate,"
            f" {row['turns_only']['throttled']} throttled"
        )


# Every section by name (its key in results.json), in the order `make bench` runs them.
SECTIONS: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "cold_start": (cold_start, _show_cold_start),
    "registration": (request_path, _show_registration),
    "join_click": (join_click, _show_join_click),
    "email_cpu": (email_cpu, _show_email_cpu),
    "zoom": (zoom_sync, _show_zoom),
    "zoom_table": (zoom_table_calls, _show_zoom_table),
    "campaign_fanout": (campaign_fanout, _show_campaign_fanout),
    "campaign_sending": (campaign_sending, _show_campaign_sending),
    "send_pacing": (send_pacing, _show_send_pacing),
    "http_load": (http_load, _show_http_load),
}


def main(names: list[str]) -> int:
    """Run the sections named (all of them when none is), show them, keep them."""
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        print(f"unknown section {', '.join(unknown)}; sections: {', '.join(SECTIONS)}")
        return 2
    sys.path.insert(0, str(ROOT))
    os.environ.update(QUIET)
    chosen = [name for name in SECTIONS if name in names] if names else list(SECTIONS)
    # Sections run alone keep the others' last results.
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results.pop("import", None)  # replaced by cold_start
    measured_at = results.setdefault("measured_at", {})
    for name in chosen:
        results[name] = SECTIONS[name][0]()
        measured_at[name] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("\nMajlis benchmarks (median [min–max]; ratio = figure / floor, same run)\n")
    print(f"{'figure':<44}{'median':>10}{'range':>22}{'floor':>10}{'ratio':>8}")
    for name in chosen:
        SECTIONS[name][1](results[name])
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
