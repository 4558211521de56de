"""registration: AWS calls and handler time of POST /registrations (new, duplicate,
waitlisted), on moto in this process, against one bare TransactWriteItems on the same
moto, and one bare TransactWriteItems of a registration's 4 items.
"""

from __future__ import annotations

import json
import os
import statistics
from typing import Any

from bench.common import _aws_in_process, _spread, _timed


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
        wired = bootstrap.services()
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
