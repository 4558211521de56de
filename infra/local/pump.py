"""The local event pump: what Lambda's event sources do in AWS, done on moto, all the time.

It runs each source of ``lambdas.py`` (the table's stream, every queue, every schedule)
in a thread of its own: polling while there is work, retrying a failed stream batch
after a backoff, firing each schedule at its rate. The sources are the tests' own, so
local mode and the tests feed the handlers alike.

A queue's function runs as many invocations at once as ``concurrency`` gives it
(``MAJLIS_LOCAL_CONCURRENCY``, bounded by its reserved concurrency in the template: see
:func:`concurrency`), as Lambda's SQS poller scales up: one poller long-polls the
queue; while it finds full batches, the others poll too, and they rest again once the
backlog is gone.

Transactional mail comes first on this machine too. In AWS each function has its own
invocations and DynamoDB serves them all at once; here one embedded DynamoDB answers
one request at a time, and a Zoom sync's parallel writes would take most of its turns
from the confirmations behind them. So while the mail queue has a backlog, the queues
of work that can wait (``YIELDING``) poll no new batch, for at most ``YIELD_SECONDS``
at a time (a batch already running finishes).

The pump can be paused (:meth:`Pump.pause`): it finishes the polls it is running, and
reads nothing more (stream records, queue messages, schedules' ticks) until resumed, so
nothing is lost. ``pump_process.py`` runs it in an interpreter of its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from infra.local.lambdas import Lambdas, QueueSource, ScheduleSource, StreamSource

POLL_SECONDS = 0.2
# Invocations of a queue's function at once on this machine (MAJLIS_LOCAL_CONCURRENCY),
# never more than the function's reserved concurrency.
CONCURRENCY_VARIABLE = "MAJLIS_LOCAL_CONCURRENCY"
DEFAULT_CONCURRENCY = 8
FIRST = "mail_worker"  # transactional mail: confirmations, notices, reminders
YIELDING = frozenset({"zoom_worker", "announcement_worker", "campaign_fanout"})
YIELD_SECONDS = 10.0  # the longest a yielding queue waits before one batch of its own


def concurrency(functions: list[str], stage: str = "dev") -> dict[str, int]:
    """How many invocations of each function may run at once: ``MAJLIS_LOCAL_CONCURRENCY``
    (a number from 1; 8 when unset), bounded by the function's reserved concurrency
    (``.chalice/config.json``, as the template has it; 1 without one)."""
    from infra.local.gateway import chalice_config

    text = os.environ.get(CONCURRENCY_VARIABLE, "").strip() or str(DEFAULT_CONCURRENCY)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{CONCURRENCY_VARIABLE}={text} is not a number from 1")
    config = chalice_config(stage)
    return {
        name: min(int(text), config.scope(stage, name).reserved_concurrency or 1)
        for name in functions
    }


class Pump:
    def __init__(
        self,
        handlers: Any,
        stream_arn: str,
        queue_urls: dict[str, str],
        on_error: Callable[[str, BaseException], None] | None = None,
        concurrency: dict[str, int] | None = None,
    ) -> None:
        self.on_error = on_error or (lambda where, error: None)
        self.queue_urls = queue_urls  # queue name -> url
        # Positioned now (the stream's newest records), so nothing written after is missed.
        self.sources = Lambdas(handlers, stream_arn, queue_urls, on_error=self.on_error)
        self.concurrency = {name: 1 for name in self.sources.queues} | (concurrency or {})
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.mail_backlog = threading.Event()  # set while the mail queue has messages
        self.yielded = 0  # polls held back for the mail, for the tests
        self._counting = threading.Lock()
        self._open = threading.Event()  # cleared while paused
        self._open.set()
        self._busy = 0  # polls running now (each with the invocations it makes)

    @property
    def invocations(self) -> int:
        stream = self.sources.stream
        queues = self.sources.queues.values()
        schedules = self.sources.schedules.values()
        return (
            (stream.invocations if stream else 0)
            + sum(len(q.batches) for q in queues)
            + sum(s.fired for s in schedules)
        )

    def start(self) -> None:
        runs: list[tuple[str, Callable[[], None]]] = []
        if self.sources.stream is not None:
            runs.append((self.sources.stream.name, lambda: self._run_stream(self.sources.stream)))
        for queue in self.sources.queues.values():
            if queue.function == FIRST:  # known as soon as a batch is received
                queue.on_received = lambda _: self.mail_backlog.set()
            backlog = threading.Event()  # set while the first poller finds full batches
            for index in range(self.concurrency[queue.function]):
                runs.append(
                    (
                        f"{queue.function}-{index}",
                        lambda queue=queue, index=index, backlog=backlog: self._run_queue(
                            queue, index, backlog
                        ),
                    )
                )
        for schedule in self.sources.schedules.values():
            runs.append((schedule.name, lambda schedule=schedule: self._run_schedule(schedule)))
        for name, target in runs:
            thread = threading.Thread(target=target, daemon=True, name=f"pump-{name}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._open.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def pause(self, timeout: float = 240.0) -> float:
        """Read nothing more, and wait (up to ``timeout``) for the polls running now to
        finish with their invocations: the seconds that took."""
        with self._counting:
            self._open.clear()
        began = time.perf_counter()
        while self._busy and time.perf_counter() - began < timeout:
            time.sleep(0.05)
        return time.perf_counter() - began

    def resume(self) -> None:
        self._open.set()

    def _enter(self) -> bool:
        """Wait while paused, then count a poll as running (False: the pump is stopping)."""
        while not self._stop.is_set():
            with self._counting:
                if self._open.is_set():
                    self._busy += 1
                    return True
            self._open.wait(POLL_SECONDS)
        return False

    def _leave(self) -> None:
        with self._counting:
            self._busy -= 1

    def _run_stream(self, stream: StreamSource | None) -> None:
        assert stream is not None
        while self._enter():
            try:
                outcome = stream.poll()
            except Exception as error:  # noqa: BLE001 - keep pumping
                self.on_error("stream", error)
                self._stop.wait(1)
                continue
            finally:
                self._leave()
            if outcome == "idle":
                self._stop.wait(POLL_SECONDS)
            elif outcome == "retry":
                self._stop.wait(min(0.1 * 2 ** min(stream.attempts, 6), 5))

    def _run_queue(self, queue: QueueSource, index: int, backlog: threading.Event) -> None:
        """Poller ``index`` of a queue: the first long-polls all the time and says when
        batches come full; the others poll while they do (and find messages)."""
        while not self._stop.is_set():
            if index and not backlog.wait(timeout=POLL_SECONDS):
                continue
            if queue.function in YIELDING:
                self._yield_to_mail()
            if not self._enter():
                return
            try:
                received = queue.poll(wait=0 if index else 1)
            except Exception as error:  # noqa: BLE001 - keep pumping
                self.on_error(queue.function, error)
                self._stop.wait(1)
                continue
            finally:
                self._leave()
            if queue.function == FIRST and not index and not received:
                self.mail_backlog.clear()
            if not index:
                (backlog.set if received >= queue.batch_size else backlog.clear)()
            elif not received:
                self._stop.wait(POLL_SECONDS)
            queue.forget_waiting()  # failed deliveries come back when their visibility ends

    def _yield_to_mail(self) -> None:
        """Wait while transactional mail has a backlog, for at most YIELD_SECONDS."""
        if not self.mail_backlog.is_set():
            return
        with self._counting:
            self.yielded += 1
        waited = 0.0
        while self.mail_backlog.is_set() and waited < YIELD_SECONDS and not self._stop.is_set():
            self._stop.wait(POLL_SECONDS)
            waited += POLL_SECONDS

    def _run_schedule(self, schedule: ScheduleSource) -> None:
        while not self._stop.wait(schedule.seconds):
            if not self._enter():
                return
            try:
                schedule.fire()
            except Exception as error:  # noqa: BLE001 - the next tick tries again
                self.on_error(schedule.name, error)
            finally:
                self._leave()
