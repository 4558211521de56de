"""Majlis: the table of contents. The Chalice app, its middleware and its blueprints.

What runs where:

- ``chalicelib/entrypoints/api.py`` — the JSON API, with the organizers' authorizer
  (``organizer_token``) and Zoom's webhooks;
- ``chalicelib/entrypoints/pages.py`` — the pages people see, and where the links in
  their emails lead;
- ``chalicelib/entrypoints/console.py`` — the organisers' console, signed in by emailed
  one-time links;
- ``chalicelib/entrypoints/workers.py`` — the table's stream, the queues and the
  schedules;
- ``chalicelib/entrypoints/http.py`` — JSON and problem answers, and the one mapping of
  what a use case raises to what a client is told.

Below them: ``chalicelib/usecases`` (what Majlis does), ``chalicelib/domain`` (the
rules), ``chalicelib/adapters`` (AWS and Zoom), wired by ``chalicelib/bootstrap.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice

from chalicelib import metrics
from chalicelib.entrypoints.api import api, organizer_token
from chalicelib.entrypoints.console import console
from chalicelib.entrypoints.pages import pages
from chalicelib.entrypoints.workers import (
    announcement_worker,
    campaign_fanout,
    export_registrations,
    mail_worker,
    on_ses_event,
    on_table_change,
    reconcile_zoom,
    send_reminders,
    workers,
    zoom_worker,
)

# Powertools logs instead of Chalice's own handler (JSON, correlation ids).
app = Chalice(app_name="majlis", configure_logs=False)


# The app's middleware, which every handler of the blueprints below runs through.


@app.middleware("all")
def flush_metrics(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Each invocation's metrics, written to its log when it ends (chalicelib/metrics.py)."""
    try:
        return get_response(event)
    finally:
        metrics.flush()


@app.middleware("sqs")
def measure_queue_lag(event: Any, get_response: Callable[[Any], Any]) -> Any:
    metrics.queue_lag(event.to_dict()["Records"])
    return get_response(event)


app.register_blueprint(api)
app.register_blueprint(pages)
app.register_blueprint(console)
app.register_blueprint(workers)

# Lambda runs each of these as ``app.<name>`` (see the packaged template).
__all__ = [
    "announcement_worker",
    "app",
    "campaign_fanout",
    "export_registrations",
    "mail_worker",
    "on_ses_event",
    "on_table_change",
    "organizer_token",
    "reconcile_zoom",
    "send_reminders",
    "zoom_worker",
]
