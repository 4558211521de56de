"""HTTP load on local mode: ``make run``'s server driven over real connections.

The server is local mode as ``make run`` starts it (:class:`LocalMajlis`), in its own
process on free loopback ports and a fresh folder, with a gate to pause the work that
requests set off (see :func:`serve`). Each simulated client is a thread with its own
keep-alive connection from its own loopback address (127.0.0.N), as people on many
networks would be: per-address rate limits see each as a different person.
"""

from __future__ import annotations

import contextlib
import email
import http.client
import json
import os
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from pathlib import Path
from typing import Any

from infra import PROJECT_DIR

HOST = "127.0.0.1"
FIRST_CLIENT_ADDRESS = 2  # 127.0.0.2 …, one address per client
REQUEST_TIMEOUT = 120.0
_JOIN_LINK = re.compile(r"/join/([0-9A-Za-z~._-]+)")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Load:
    """What one load phase saw: a latency per answered request, statuses, failures."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)  # bodies of 2xx, when kept
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        """Counts, requests a second, the latency's p50, p99, min and max, and its whole
        distribution: the latency at every percentile, p0 (min) to p100 (max)."""
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        failed = sum(n for status, n in self.statuses.items() if not 200 <= status < 400)
        return {
            "requests": len(self.latencies) + sum(self.connection_errors.values()),
            "seconds": self.seconds,
            "per_second": len(self.latencies) / self.seconds,
            "p50": cuts[49],
            "p99": cuts[98],
            "min": min(self.latencies),
            "max": max(self.latencies),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "error_statuses": failed,
            "connection_errors": dict(self.connection_errors),
            "percentiles": [min(self.latencies), *cuts, max(self.latencies)],
        }


def client_address(index: int) -> str:
    return f"127.0.0.{FIRST_CLIENT_ADDRESS + index}"


def drive(port: int, requests: list[Request], clients: int, keep: bool = False) -> Load:
    """Send ``requests`` from ``clients`` threads at once (request i from client i mod
    clients), each on its own connection from its own address; wait for every answer
    (and ``keep`` the bodies of the successful ones)."""
    load = Load()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        mine = requests[index::clients]
        connection = _connect(port, index)
        start.wait()
        for request in mine:
            began = time.perf_counter()
            try:
                connection.request(request.method, request.path, request.body, request.headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = _connect(port, index)
                with lock:
                    load.connection_errors[type(error).__name__] += 1
                continue
            took = time.perf_counter() - began
            with lock:
                load.latencies.append(took)
                load.statuses[response.status] += 1
                if keep and 200 <= response.status < 300:
                    load.answers.append(body)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - began
    return load


def _connect(port: int, index: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(
        HOST, port, timeout=REQUEST_TIMEOUT, source_address=(client_address(index), 0)
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class LocalServer:
    """Local mode in a child process (``python -m bench.load``), on free ports and a
    fresh folder, with its event pump paused and resumed on request."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="majlis-bench-"))
        self.port = free_port()
        self.aws_port = free_port()
        self.log = self.root / "server.log"
        self.process: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[str] = queue.Queue()

    def __enter__(self) -> LocalServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAJLIS_"))}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.load",
                    *map(str, (self.root, self.port, self.aws_port)),
                ],
                cwd=PROJECT_DIR,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(
            target=lambda: [self._replies.put(line.strip()) for line in stdout], daemon=True
        ).start()
        self._reply("ready", 180)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError, AssertionError):
            self._send("stop")
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def pause(self) -> float:
        """Hold the pump's next invocations; seconds until those running had finished."""
        self._send("pause")
        return float(self._reply("paused", 300).split()[1])

    def resume(self) -> None:
        self._send("resume")
        self._reply("resumed", 30)

    def counts(self) -> dict[str, int]:
        """Webhooks the Zoom stand-in has posted, and the pump's invocations, so far."""
        self._send("counts")
        return json.loads(self._reply("counts", 60).split(" ", 1)[1])

    def _send(self, command: str) -> None:
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def _reply(self, expected: str, timeout: float) -> str:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            line = ""
        if not line.startswith(expected):
            raise RuntimeError(f"local mode: {line!r}, not {expected}:\n{self.log_tail()}")
        return line

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def emails(self) -> list[Path]:
        return sorted(self.outbox.glob("*.eml")) if self.outbox.exists() else []

    def failures(self) -> dict[str, Any]:
        """Log lines at ERROR level (handlers, pump), tracebacks by exception, and the
        HTTP server's failures by client: 127.0.0.1 is local mode's own (the Zoom
        stand-in's webhooks), the simulated clients come from 127.0.0.2 on."""
        text = self.log.read_text(errors="replace")
        raised = re.findall(r"^(\w+(?:Error|Exception))\b", text, flags=re.MULTILINE)
        clients = re.findall(r"processing of request from \('([0-9.]+)'", text)
        return {
            "error_lines": text.count('"level":"ERROR"'),
            "tracebacks": dict(Counter(raised)),
            "requests_failed_by_client": {
                "local mode (127.0.0.1)": clients.count(HOST),
                "simulated clients": len(clients) - clients.count(HOST),
            },
        }

    def aws(self, service: str) -> Any:
        """A client of the embedded AWS."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=f"http://{HOST}:{self.aws_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def queues(self) -> dict[str, int]:
        """Messages in each queue of the embedded SQS (visible, in flight, delayed)."""
        sqs = self.aws("sqs")
        depths = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            depths[url.rsplit("/", 1)[1]] = sum(int(v) for v in attributes.values())
        return depths


def serve(root: Path, port: int, aws_port: int) -> None:
    """The child: local mode as ``make run`` starts it (:class:`LocalMajlis`), answering
    the parent's commands on stdin: ``pause`` and ``resume`` the work that requests set
    off, ``counts``, ``stop``.

    Paused, the event pump (in its own process) finishes the batches it is running and
    reads nothing more (stream records, queue messages), and the Zoom stand-in holds its
    next webhook, until resumed: nothing is lost.
    """
    control = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # logs (stdout) to the log file, replies to the parent alone
    from infra.local.embedded import freeze_survivors
    from infra.local.runner import LocalMajlis
    from infra.local.zoom import ZoomStandIn

    gate = threading.Event()
    gate.set()
    post = ZoomStandIn._post

    def held(self: Any, url: str, body: bytes) -> Any:
        gate.wait()
        return post(self, url, body)

    freeze_survivors()  # as make run's process does
    ZoomStandIn._post = held  # type: ignore[method-assign]
    local = LocalMajlis(root=root, port=port, aws_port=aws_port, keep_state=False).start()
    print("ready", file=control)
    for line in sys.stdin:
        command = line.strip()
        if command == "pause":
            gate.clear()
            print(f"paused {local.pump.pause():.3f}", file=control)
        elif command == "resume":
            local.pump.resume()
            gate.set()
            print("resumed", file=control)
        elif command == "counts":
            counts = {
                "webhooks": len(local.zoom.webhooks_sent),
                "pump_invocations": local.pump.invocations,
            }
            print(f"counts {json.dumps(counts)}", file=control)
        elif command == "stop":
            break
    gate.set()
    local.stop()


def join_tokens(emails: list[Path]) -> Iterator[str]:
    """The join tokens in the text part of each email, email after email."""
    for path in emails:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",))
        if text is not None:
            yield from dict.fromkeys(_JOIN_LINK.findall(text.get_content()))


def get_json(port: int, path: str) -> Any:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def join_links(server: LocalServer, registration_ids: list[str]) -> list[str]:
    """The join tokens of these registrations of the demo event, every session each,
    signed with local mode's signing key as the confirmation emails sign them."""
    from chalicelib.signed_links import JOIN_MARGIN, Keys, Link, Purpose, sign

    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))
    secret_id = config["environment_variables"]["MAJLIS_SIGNING_KEYS_SECRET_ID"]
    secret = server.aws("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    keys = Keys.from_secret(json.loads(secret))
    sessions = get_json(server.port, "/events/demo")["sessions"]
    return [
        sign(
            keys,
            Link(
                Purpose.JOIN,
                registration_id,
                session["id"],
                1,  # a new registration's link version
                datetime.fromisoformat(session["ends_at"]) + JOIN_MARGIN,
            ),
        )
        for registration_id in registration_ids
        for session in sessions
    ]


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
