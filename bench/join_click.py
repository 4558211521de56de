"""join_click: a join link's click. Its signature check alone (CPU), against one bare
HMAC-SHA256 of the token's payload and a constant-time compare; and the whole click
through the handler on moto in this process (time, AWS calls), against one bare
UpdateItem on the same moto.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.common import _aws_in_process, _cpu_per_call, _spread, _timed


def _link_check(batches: int, per_batch: int) -> dict[str, Any]:
    """CPU of one join link's signature check, against one bare HMAC-SHA256 and compare."""
    import hashlib
    import hmac
    import secrets
    from datetime import timedelta

    from chalicelib.domain.ids import new_id
    from chalicelib.signed_links import Keys, Link, Purpose, sign, verify

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
        from chalicelib.signed_links import registration_links
        from chalicelib.usecases.events import put_event
        from chalicelib.usecases.registrations import register
        from infra.local.gateway import problem_client
        from infra.local.provision import Provisioner
        from tests.builders import event_body, person, zoom_base_for

        Provisioner("us-east-1").create_all()
        config.settings.cache_clear()
        aws.client.cache_clear()
        bootstrap.use(None)
        wired = bootstrap.services()
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
