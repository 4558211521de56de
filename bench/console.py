"""console: the organisers' console of an event of 50,000 registrations, on moto in
this process, through the chalice test client as an admin signed in by the real POST.

- seeding: the registrations' items written with BatchWriteItem (25 a call), and the
  counters they make (domain/stats.py's contributions: statuses, countries, languages,
  sessions, the hours they registered in) applied as the stream would, 50 a call; its
  time is a note only;
- the median time of the overview page, its overview.json, the registrants' first page,
  a deep page (the cursor of the 45,000th registration), a person's page; against the
  floor, GET /assets/page.css through the same client, taken in turns with them; and
  the DynamoDB calls each request makes;
- page weight: the bytes of each page and of the assets the overview loads, raw and
  gzip-compressed (level 6).

moto answers a Query on an index by reading every item of the table: a page of
registrants costs it the whole event, whichever page; DynamoDB reads the page alone.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import _aws_in_process, _spread

PEOPLE = 50_000
RUNS = 30
QUERY_RUNS = 10  # the bare Query floors of the registrants' pages (each ~1 s on moto)
DEEP = 0.9  # the deep page starts after this share of the registrations (45,000 of 50,000)
EVENT_ID = "bench-console"
START = datetime(2027, 1, 1, tzinfo=UTC)
DAYS = 60
COUNTRIES = 200
SAME_SITE = {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
ASSET = re.compile(r'(?:href|src)="[^"]*/assets/([A-Za-z0-9._-]+)"')

# The pages measured: their key in the results, and their title in the table.
PAGES = (
    ("overview", "console overview page"),
    ("overview_json", "console overview.json"),
    ("registrants", "console registrants, first page"),
    ("registrants_deep", "console registrants, page after 45,000"),
    ("registrant", "console: a registrant's page"),
)


def _people(event_id: str, people: int) -> list[Any]:
    """``people`` registrations over 60 days from 200 countries, in 7 languages, each
    for 1 to 4 of the event's 8 sessions; 1 in 50 cancelled and 1 in 50 waiting. Their
    ids sort by when they were made, as the app's do."""
    from chalicelib.domain.countries import COUNTRY_CODES
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.registrations import Registration
    from tests.builders import LANGUAGES, SESSION_TITLES, person

    draw = random.Random(50_000)
    countries = sorted(COUNTRY_CODES)[:COUNTRIES]
    sessions = list(SESSION_TITLES)
    span_ms = DAYS * 24 * 3600 * 1000
    moments = sorted(draw.randrange(span_ms) for _ in range(people))
    start_ms = int(START.timestamp() * 1000)
    made = []
    for n, offset in enumerate(moments):
        at = START + timedelta(milliseconds=offset)
        status = {0: "cancelled", 1: "waitlisted"}.get(n % 50, "registered")
        made.append(
            Registration.model_validate(
                {
                    **person(
                        n,
                        email=f"p{n}@example.org",
                        language=LANGUAGES[n % len(LANGUAGES)],
                        country=countries[draw.randrange(len(countries))],
                    ),
                    "registration_id": new_id(start_ms + offset),
                    "event_id": event_id,
                    "email_key": f"p{n}@example.org",
                    "status": status,
                    "sessions": sorted(draw.sample(sessions, draw.randint(1, 4))),
                    "source": "form",
                    "created_at": at,
                    "updated_at": at,
                    "mail_requested_at": at,
                }
            )
        )
    return made


def _seed(wired: Any, table: str, registrations: list[Any]) -> dict[str, Any]:
    """Write the registrations' items and their counters; what it took."""
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo.schema import image, registration_item
    from chalicelib.domain.stats import contribution

    db = client("dynamodb")
    start = time.perf_counter()
    items = [registration_item(r) for r in registrations]
    counters: Counter[str] = Counter()
    for item in items:
        counters.update(contribution(image(item)))
    built = time.perf_counter() - start
    start = time.perf_counter()
    writes = 0
    for at in range(0, len(items), 25):
        chunk = [{"PutRequest": {"Item": item}} for item in items[at : at + 25]]
        pending: dict[str, Any] = {table: chunk}
        while pending:
            pending = db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            writes += 1
    written = time.perf_counter() - start
    # As the stream counts them, batch by batch: moto cannot parse one ADD of them all.
    start = time.perf_counter()
    names = sorted(counters)
    applies = 0
    for at in range(0, len(names), 50):
        chunk = {name: counters[name] for name in names[at : at + 50]}
        wired.stats.apply(registrations[0].event_id, [(f"bench-{at}", chunk)])
        applies += 1
    counted = time.perf_counter() - start
    kinds = Counter(name.split(".", 1)[0] for name in names)
    return {
        "registrations": len(items),
        "build_seconds": built,
        "batch_writes": writes,
        "write_seconds": written,
        "counters": len(names),
        "counters_by_kind": dict(sorted(kinds.items())),
        "counter_calls": applies,
        "counter_seconds": counted,
    }


def _bare_queries(table: str, cursor: str, runs: int) -> dict[str, Any]:
    """One gsi1 Query of a page of 50 on the same moto, as the registrants' page makes
    it, from the start and after ``cursor``: what moto alone costs those pages."""
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo import schema

    db = client("dynamodb")
    query: dict[str, Any] = {
        "TableName": table,
        "IndexName": schema.EVENT_REGISTRATIONS_INDEX,
        "KeyConditionExpression": "gsi1pk = :event",
        "ExpressionAttributeValues": {":event": {"S": schema.event_registrations(EVENT_ID)}},
        "Limit": 50,
    }
    after = {**query, "ExclusiveStartKey": schema.page_start(EVENT_ID, cursor)}
    first: list[float] = []
    deep: list[float] = []
    for _ in range(runs):
        for kept, asked in ((first, query), (deep, after)):
            start = time.perf_counter()
            db.query(**asked)
            kept.append(time.perf_counter() - start)
    return {
        "what": "one bare gsi1 Query of 50 on the same moto",
        "first": _spread(first),
        "deep": _spread(deep),
    }


def _weight(body: bytes) -> dict[str, int]:
    return {"raw": len(body), "gzip": len(gzip.compress(body, compresslevel=6, mtime=0))}


def console_at_scale(runs: int = RUNS, people: int = PEOPLE) -> dict[str, Any]:
    """The console's pages of an event of ``people`` registrations, beside a static
    asset through the same client."""
    _aws_in_process()
    from moto import mock_aws

    started = time.perf_counter()
    with mock_aws():
        import app
        from chalicelib import bootstrap, config
        from chalicelib.adapters.aws import client
        from chalicelib.usecases import console
        from chalicelib.usecases.events import put_event
        from infra.local.gateway import problem_client
        from infra.local.provision import Provisioner
        from tests.builders import event_body, zoom_base_for

        outputs = Provisioner("us-east-1").create_all()
        os.environ["MAJLIS_MAIL_QUEUE_URL"] = outputs["MailQueueUrl"]
        config.settings.cache_clear()
        client.cache_clear()  # an earlier section's clients, on its embedded AWS
        wired = bootstrap.services()
        body = event_body(zoom_base_for(EVENT_ID), capacity=people - 2 * (people // 50))
        put_event(wired, EVENT_ID, body)
        registrations = _people(EVENT_ID, people)
        seeding = _seed(wired, config.settings().table_name, registrations)
        ordered = sorted(r.registration_id for r in registrations)
        deep_cursor = ordered[int(len(ordered) * DEEP) - 1]
        someone = ordered[len(ordered) // 2]
        base = f"/console/events/{EVENT_ID}"
        paths = {
            "overview": base,
            "overview_json": f"{base}/overview.json",
            "registrants": f"{base}/registrants",
            "registrants_deep": f"{base}/registrants?cursor={deep_cursor}",
            "registrant": f"{base}/registrants/{someone}",
        }
        floor_path = "/assets/page.css"

        with problem_client(app.app) as api:
            _, link = console.invite(wired, EVENT_ID, "admin@example.org", "admin", "bench")
            token = console.sign_in_token(wired, link)
            signed = api.http.post(f"/console/signin/{token}", headers=SAME_SITE, body="")
            assert signed.status_code == 303, signed.body
            cookie = {"Cookie": signed.headers["Set-Cookie"].split(";", 1)[0]}

            def get(path: str) -> Any:
                answer = api.http.get(path, headers=cookie)
                assert answer.status_code == 200, (path, answer.status_code, answer.body[:300])
                return answer

            # Once each, first: what a warm container answers, and the calls it makes.
            answers = {name: get(path) for name, path in paths.items()}
            get(floor_path)
            calls: list[str] = []

            def count(model: Any, **_: Any) -> None:
                calls.append(model.name)

            dynamodb = client("dynamodb")
            dynamodb.meta.events.register("before-call", count)
            made: dict[str, list[str]] = {}
            try:
                for name, path in [*paths.items(), ("floor", floor_path)]:
                    calls.clear()
                    answers[name] = get(path)
                    made[name] = list(calls)
            finally:
                dynamodb.meta.events.unregister("before-call", count)
            shown = answers["registrants"].body.decode()
            deep_rows = answers["registrants_deep"].body.decode().count(f"{base}/registrants/")
            first_rows = shown.count(f"{base}/registrants/")

            # Figures and floor taken in turns, so that the machine's moods fall on all alike.
            samples: dict[str, list[float]] = {name: [] for name in [*paths, "floor"]}
            for _ in range(runs):
                for name, path in [("floor", floor_path), *paths.items()]:
                    start = time.perf_counter()
                    get(path)
                    samples[name].append(time.perf_counter() - start)

            overview_html = answers["overview"].body.decode()
            loaded = list(dict.fromkeys(ASSET.findall(overview_html)))
            assets = {name: _weight(get(f"/assets/{name}").body) for name in loaded}
        bare = _bare_queries(config.settings().table_name, deep_cursor, QUERY_RUNS)
    floor = statistics.median(samples["floor"])
    result: dict[str, Any] = {
        "people": people,
        "language": "the organiser's (the event's default, ar)",
        "seeding": seeding,
        "floor": {
            "what": "GET /assets/page.css through the same chalice test client",
            "dynamodb_calls": made["floor"],
            **_spread(samples["floor"]),
        },
    }
    for name, _ in PAGES:
        result[name] = {
            "path": paths[name].replace(deep_cursor, "{45,000th id}").replace(someone, "{id}"),
            "dynamodb_calls": made[name],
            "bytes": _weight(answers[name].body),
            **_spread(samples[name]),
            "ratio": statistics.median(samples[name]) / floor,
        }
    for name, key in (("registrants", "first"), ("registrants_deep", "deep")):
        result[name]["ratio_bare_query"] = result[name]["median"] / bare[key]["median"]
    result["bare_query"] = bare
    result["registrants"]["rows"] = first_rows
    result["registrants_deep"]["rows"] = deep_rows
    raw = sum(a["raw"] for a in assets.values())
    packed = sum(a["gzip"] for a in assets.values())
    result["weight"] = {
        "overview_assets": assets,
        "assets_total": {"raw": raw, "gzip": packed},
        "overview_total": {
            "raw": raw + result["overview"]["bytes"]["raw"],
            "gzip": packed + result["overview"]["bytes"]["gzip"],
        },
    }
    result["seconds"] = time.perf_counter() - started
    return result
