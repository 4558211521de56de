"""The rehearsal's Lambda service: warm containers of each function, from the bundle.

A container is one ``python -S infra/rehearsal/runtime.py`` process with the bundle as
its task root, the environment the template gives the function, Lambda's own
variables and the credentials of the function's role. A :class:`Pool` holds a
function's containers and starts one more, up to its limit (the reserved concurrency,
or fewer on a small machine), when every started one is busy. An invocation that
outlives the function's timeout is killed, as Lambda kills it. When the rehearsal
ends, what each container printed is shipped to the function's log group with the
function's own role, as Lambda does.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.local.provision import ACCOUNT_ID
from infra.rehearsal.stack import REGION, Function

RUNTIME = Path(__file__).with_name("runtime.py")
INIT_SECONDS = 10


@dataclass
class Answer:
    """What one invocation came back with."""

    result: Any = None
    error: str | None = None
    ms: float = 0.0


class Container:
    def __init__(self, function: Function, bundle: Path, environment: dict[str, str], log: Path):
        self.function = function
        self.log_path = log
        self.generation = 0
        self.stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"
        read, write = os.pipe()
        env = environment | {
            "REHEARSAL_RESULT_FD": str(write),
            "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
        }
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("ab")
        began = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603 - our own runtime, our interpreter
            [sys.executable, "-S", str(RUNTIME)],
            env=env,
            cwd=bundle,
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(write,),
            text=True,
        )
        os.close(write)
        self._answers = os.fdopen(read)
        # Lambda gives a function's init 10 seconds; past them, the container ends.
        watchdog = threading.Timer(INIT_SECONDS, self.process.kill)
        watchdog.start()
        line = self._answers.readline()
        watchdog.cancel()
        self.init = json.loads(line) if line else {"init": False, "error": "exited"}
        self.init_ms = (time.perf_counter() - began) * 1000
        if not self.init.get("init"):
            self.close()
            raise RuntimeError(
                f"{function.logical_id} failed to start: {self.init.get('error')} (see {log})"
            )

    def invoke(self, event: dict[str, Any]) -> Answer:
        ask = {"id": str(uuid.uuid4()), "event": event}
        self._platform(f"START RequestId: {ask['id']} Version: $LATEST")
        watchdog = threading.Timer(self.function.timeout_s, self.process.kill)
        watchdog.start()
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(ask) + "\n")
            self.process.stdin.flush()
            line = self._answers.readline()
        except (BrokenPipeError, OSError):
            line = ""
        finally:
            watchdog.cancel()
        if not line:
            self._platform(
                f"RequestId: {ask['id']} Error: Runtime exited with error: signal: killed"
            )
            return Answer(error="the container ended during the invocation (killed or crashed)")
        answer = json.loads(line)
        billed = int(answer["ms"]) + 1
        self._platform(f"END RequestId: {ask['id']}")
        self._platform(
            f"REPORT RequestId: {ask['id']}\tDuration: {answer['ms']:.2f} ms\tBilled Duration: "
            f"{billed} ms\tMemory Size: {self.function.memory_mb} MB"
        )
        return Answer(answer.get("result"), answer.get("error"), answer["ms"])

    def _platform(self, line: str) -> None:
        """A line of Lambda's own (START, END, REPORT) in the function's log."""
        self._log.write((line + "\n").encode("utf-8"))
        self._log.flush()

    def move_clock(self, offset: float) -> bool:
        """This warm container's wall clock to ``offset`` seconds from the real one;
        whether it still runs."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"id": "clock", "clock": offset}) + "\n")
            self.process.stdin.flush()
        except OSError:
            return False
        return bool(self._answers.readline())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()

    def close(self) -> None:
        if self._answers.closed:
            return
        if self.process.stdin:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:  # the end of its input ends the runtime; Lambda waits for no one either
            self.process.wait(1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._answers.close()
        self._log.close()


@dataclass
class Usage:
    """A function's invocations, as Lambda bills and reports them."""

    invocations: int = 0
    errors: int = 0
    billed_ms: float = 0.0
    cold_starts: int = 0
    init_ms: list[float] = field(default_factory=list)


class Pool:
    """A function's warm containers, at most ``size`` at once."""

    def __init__(
        self, function: Function, bundle: Path, environment: dict[str, str], logs: Path, size: int
    ) -> None:
        self.function = function
        self._bundle = bundle
        self._environment = environment
        self._logs = logs
        self.size = max(1, size)
        self._idle: list[Container] = []
        self._all: list[Container] = []
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self.usage = Usage()
        self.busy: dict[int, Container] = {}
        self._generation = 0
        self._started = 0

    def _take(self) -> Container:
        with self._lock:
            while self._idle:
                container = self._idle.pop()
                if container.alive:
                    return container
        with self._lock:
            self._started += 1
            number, generation = self._started, self._generation
        container = Container(
            self.function,
            self._bundle,
            self._environment,
            self._logs / f"{self.function.logical_id}-{number}.log",
        )
        container.generation = generation
        with self._lock:
            self._all.append(container)
            self.usage.cold_starts += 1
            self.usage.init_ms.append(container.init_ms)
        return container

    def invoke(self, event: dict[str, Any]) -> Answer:
        with self._slots:
            container = self._take()
            self.busy[threading.get_ident()] = container
            try:
                answer = container.invoke(event)
            finally:
                self.busy.pop(threading.get_ident(), None)
            with self._lock:
                self.usage.invocations += 1
                self.usage.billed_ms += max(1.0, float(int(answer.ms) + 1))
                if answer.error:
                    self.usage.errors += 1
                if container.alive and container.generation == self._generation:
                    self._idle.append(container)
                    return answer
            container.close()
            return answer

    def recycle(self, environment: dict[str, str], offset: float | None = None) -> None:
        """From now on, containers start with ``environment``. With ``offset`` (only the
        clock moved), the idle ones move their clocks and stay warm; otherwise they end
        now. The busy ones end when their invocation does."""
        with self._lock:
            self._generation += 1
            self._environment = environment
            idle, self._idle = self._idle, []
        if offset is None:
            _close_all(idle)
            return
        moved = [c for c in idle if c.move_clock(offset)]
        _close_all([c for c in idle if c not in moved])
        for container in moved:
            container.generation = self._generation
        with self._lock:
            self._idle.extend(moved)

    def kill_busy(self) -> int:
        """Kill every container in the middle of an invocation; how many were."""
        busy = list(self.busy.values())
        for container in busy:
            container.kill()
        return len(busy)

    def close(self) -> list[Container]:
        _close_all(self._all)
        return list(self._all)


def _close_all(containers: list[Container]) -> None:
    """End containers together: each is told first, then each is waited for."""
    for container in containers:
        if container.process.stdin and not container.process.stdin.closed:
            with contextlib.suppress(OSError):
                container.process.stdin.close()
    for container in containers:
        container.close()


def clock_library(directory: Path) -> Path:
    """A directory holding ``time-machine`` alone, for the runtime's clock (the bundle's
    path gets nothing else of this environment)."""
    import _time_machine
    import time_machine

    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_time_machine.__file__, directory)
    shutil.copytree(
        Path(time_machine.__file__).parent, directory / "time_machine", dirs_exist_ok=True
    )
    return directory


def lambda_environment(
    function: Function,
    endpoint: str,
    credentials: dict[str, str],
    bundle: Path,
    clock: tuple[float, Path] | None = None,
) -> dict[str, str]:
    """The environment Lambda gives the function: the template's variables, its own;
    ``clock`` (an offset in seconds, the clock library) moves its wall clock."""
    moved = {"REHEARSAL_CLOCK_OFFSET": str(clock[0]), "REHEARSAL_CLOCK_LIB": str(clock[1])}
    return (
        (moved if clock else {})
        | function.environment
        | {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(bundle),
            "LAMBDA_RUNTIME_DIR": str(RUNTIME.parent),
            "_HANDLER": function.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "REHEARSAL_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:"
            + function.name,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": credentials["aws_session_token"],
            "PYTHONDONTWRITEBYTECODE": "1",  # the bundle is read-only on Lambda
        }
    )


def ship_logs(container: Container, logs_client: Any) -> int:
    """Send what a container printed to its function's log group; the bytes sent."""
    lines = [ln for ln in container.log_path.read_text("utf-8", "replace").splitlines() if ln]
    group = f"/aws/lambda/{container.function.name}"
    logs_client.create_log_stream(logGroupName=group, logStreamName=container.stream)
    sent = 0
    now = int(time.time() * 1000)
    for start in range(0, len(lines), 5_000):  # PutLogEvents takes 10,000 events at most
        batch = [{"timestamp": now, "message": ln} for ln in lines[start : start + 5_000]]
        logs_client.put_log_events(
            logGroupName=group, logStreamName=container.stream, logEvents=batch
        )
        sent += sum(len(e["message"].encode()) + 26 for e in batch)  # AWS counts 26 a line
    return sent
