"""Operational metrics: CloudWatch Embedded Metric Format (EMF) through Powertools.

Metrics are added where the thing happens and written to stdout at the end of each
Lambda invocation (``flush``, from the middleware in ``app.py``) as JSON documents that
CloudWatch Logs turns into metrics in the namespace ``Majlis`` with the dimension
``service=majlis``: no AWS call, and no IAM permission beyond writing logs.

Counters (unit Count):

- ``Registrations``: a new registration stored, with a seat or on the waiting list, and
  ``Waitlisted``: of those, the ones put on the waiting list (``usecases/registrations.py``);
- ``Promoted``: people given a freed seat from the waiting list (``usecases/waitlist.py``);
- ``EmailsSent``: emails SES accepted, and ``EmailsFailed``: emails SES refused for good,
  never retried (``usecases/sending.py``);
- ``EmailsBounced`` (permanent bounces) and ``EmailsComplained``, as SES reports them
  (``usecases/delivery.py``);
- ``ZoomErrors`` by ``kind`` (``rate_limited``, ``unavailable``, ``rejected``, ``auth``,
  ``full``, ``daily_limit``): Zoom API calls that failed (``adapters/zoom_api.py``);
- ``JobsFailed``: queued jobs a worker failed on, an exception rather than a retry it
  asked for (``entrypoints/workers.py``).

And ``QueueLag`` by ``queue`` (unit Seconds): how long each message waited on its queue
before a worker first got it (every SQS handler, from the middleware).

Metrics never carry personal data: names are fixed in the code, and a dimension's value
must be a plain word (a queue's name, a kind of error); anything else is recorded as
``other``, so an address or a name can never become a dimension.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit

NAMESPACE = "Majlis"
SERVICE = "majlis"

metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

_WORD = re.compile(r"[a-z][a-z0-9_-]{0,63}")
# Local mode runs handlers (and the mail worker its sends) in threads that share the
# metrics: adding and flushing take turns.
_lock = threading.Lock()
# EMF gives every metric of a document the same dimensions: a metric with a dimension
# of its own goes to a document of its own, one per dimension value.
_by_dimension: dict[tuple[str, str], list[tuple[str, MetricUnit, float]]] = {}


def count(name: str, value: float = 1, **dimension: str) -> None:
    """Add ``value`` to the counter ``name`` (with at most one dimension)."""
    if value:
        _add(name, MetricUnit.Count, value, dimension)


def queue_lag(records: Iterable[dict[str, Any]], now: float | None = None) -> None:
    """``QueueLag`` of each SQS record delivered for the first time, by queue.

    Later deliveries are left out: their wait is a retry's backoff, not a backlog.
    """
    now = time.time() if now is None else now
    for record in records:
        attributes = record.get("attributes") or {}
        sent = str(attributes.get("SentTimestamp", ""))
        if not sent.isdigit() or str(attributes.get("ApproximateReceiveCount", "1")) != "1":
            continue
        queue = str(record.get("eventSourceARN", "")).rsplit(":", 1)[-1]
        lag = max(0.0, now - int(sent) / 1000)
        _add("QueueLag", MetricUnit.Seconds, lag, {"queue": queue})


def _add(name: str, unit: MetricUnit, value: float, dimension: dict[str, str]) -> None:
    with _lock:
        if not dimension:
            metrics.add_metric(name=name, unit=unit, value=value)
            return
        ((key, word),) = dimension.items()
        word = word if _WORD.fullmatch(word) else "other"
        _by_dimension.setdefault((key, word), []).append((name, unit, value))


def flush() -> None:
    """Write what this invocation counted; nothing at all when it counted nothing."""
    with _lock:
        if metrics.metric_set:  # Powertools warns when asked to flush nothing
            metrics.flush_metrics()
        for (key, word), values in _by_dimension.items():
            document = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
            document.add_dimension(name=key, value=word)
            for name, unit, value in values:
                # (Powertools writes a document by itself once a metric holds 100 values.)
                document.add_metric(name=name, unit=unit, value=value)
            if document.metric_set:
                document.flush_metrics()
        _by_dimension.clear()
