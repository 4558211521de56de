"""cold_start: a new container's ``import app`` and first registration (201), each
program in a fresh interpreter with the function's environment, against the floor: what
no app on chalice and boto3 can do without (``import chalice, boto3`` and the clients the
first request creates). Three ways: the libraries with the bytecode pip compiled and our
modules from source (the figure); everything with bytecode, as ``make package`` ships it;
and nothing with it, figure and floor alike, as Lambda would run what ``chalice package``
alone ships. Also where the cold path's import time goes (``python -X importtime``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

from bench.common import QUIET, _fresh_interpreter, _lambda_environment, _spread


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
