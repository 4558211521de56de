"""Local mode's event pump in an interpreter of its own, beside the API's.

In AWS each function runs in its own execution environment; here the API's local server
and the pump's handlers (emails, Zoom sync, the stream) would otherwise take turns for
one interpreter's lock, and a burst of registrations would wait behind its own
confirmations. :class:`PumpProcess` starts ``python -m infra.local.pump_process`` with
the environment the functions get (set by the runner before), which imports ``app``
while the runner seeds the demo event, then starts a :class:`~infra.local.pump.Pump` on
the sources it is given and answers commands, one line each, on its stdin:

- ``fire <schedule>``: fire a schedule now (what a test does instead of waiting);
- ``pause`` / ``resume``: read nothing more until resumed (the bench's requests alone);
- ``invocations``: how many batches and ticks it has run;
- ``stop`` (or the end of its stdin: the runner is gone): stop pumping and end.

Its answers, and every failure the pump reports (``error <where> <what>``), come back on a
pipe of their own; its logs (stdout) are written line by line to the runner's stdout.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from typing import IO

from infra import PROJECT_DIR

READY_SECONDS = 120.0  # importing app and positioning on the stream, on a busy machine
ANSWER_SECONDS = 300.0  # a command's answer (a pause waits for the batches running)
STOP_SECONDS = 30.0
# The User-Agent app id of its AWS clients: the embedded DynamoDB serves everyone else's
# requests first (embedded._PeopleFirst).
PUMP_APP_ID = "majlis-pump"
# Its processes' priority below the API's: people's requests first on a busy machine.
NICENESS = 10


class PumpError(Exception):
    """A failure in the pump's process, as it described it."""


class PumpProcess:
    """The parent's side: the process, its commands, and its failures to ``on_error``."""

    def __init__(self, on_error: Callable[[str, BaseException], None]) -> None:
        self.on_error = on_error
        self.queue_urls: dict[str, str] = {}
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._asking = threading.Lock()
        self._stopping = False
        self._process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def spawn(self) -> None:
        """Start the process; it imports ``app`` and waits for :meth:`start`."""
        read, write = os.pipe()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
                [sys.executable, "-m", "infra.local.pump_process", str(write)],
                cwd=PROJECT_DIR,
                env={
                    **os.environ,
                    "PYTHONPATH": str(PROJECT_DIR),
                    "AWS_SDK_UA_APP_ID": PUMP_APP_ID,  # the embedded DynamoDB serves it last
                },
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                pass_fds=(write,),
            )
        finally:
            os.close(write)
        control = os.fdopen(read, encoding="utf-8")
        threading.Thread(target=self._read, args=(control,), daemon=True).start()
        assert self._process.stdout is not None  # its logs, onto this process's sys.stdout
        threading.Thread(target=_copy_lines, args=(self._process.stdout,), daemon=True).start()

    def start(
        self, stream_arn: str, queue_urls: dict[str, str], concurrency: dict[str, int]
    ) -> None:
        """Start pumping from now on (the stream's newest records)."""
        self.queue_urls = queue_urls
        self._expect("imported", READY_SECONDS)
        sources = {"stream_arn": stream_arn, "queue_urls": queue_urls, "concurrency": concurrency}
        self._send(json.dumps(sources))
        self._expect("ready", READY_SECONDS)

    def fire(self, schedule: str) -> None:
        """Fire ``schedule`` now and wait for it; its failure is raised here."""
        answer = self._ask(f"fire {schedule}")
        if answer != "fired":
            raise PumpError(json.loads(answer.removeprefix("failed ")))

    def pause(self) -> float:
        """Read nothing more; the seconds the batches running took to finish."""
        return float(self._ask("pause").removeprefix("paused "))

    def resume(self) -> None:
        self._ask("resume")

    @property
    def invocations(self) -> int:
        return int(self._ask("invocations").removeprefix("invocations "))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._stopping = True
        with contextlib.suppress(OSError, ValueError):
            assert process.stdin is not None
            process.stdin.write("stop\n")
            process.stdin.close()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _ask(self, command: str) -> str:
        with self._asking:
            self._send(command)
            return self._expect(command.split()[0], ANSWER_SECONDS, exact=False)

    def _send(self, line: str) -> None:
        if self._process is None or self._process.stdin is None:
            raise PumpError("the event pump is not running")
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except (OSError, ValueError) as error:
            raise PumpError(f"the event pump's process is gone ({error})") from None

    def _expect(self, what: str, seconds: float, *, exact: bool = True) -> str:
        try:
            answer = self._answers.get(timeout=seconds)
        except queue.Empty:
            raise PumpError(f"the event pump did not answer {what!r} in {seconds:.0f} s") from None
        if answer is None:
            self._answers.put(None)  # for whoever asks next
            raise PumpError(f"the event pump's process ended (exit code {self._exit_code()})")
        if exact and answer != what:
            raise PumpError(f"the event pump answered {answer!r} to {what!r}")
        return answer

    def _exit_code(self) -> int | None:
        process = self._process
        if process is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            return process.wait(timeout=5)
        return None

    def _read(self, control: IO[str]) -> None:
        with control:
            for line in control:
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "error":
                    where, _, what = rest.partition(" ")
                    self.on_error(where, PumpError(json.loads(what)))
                else:
                    self._answers.put(line.rstrip("\n"))
        if not self._stopping:
            self.on_error("pump", PumpError(f"its process ended (exit {self._exit_code()})"))
        self._answers.put(None)


def _copy_lines(source: IO[str]) -> None:
    with source:
        for line in source:
            sys.stdout.write(line)  # whatever sys.stdout is by then (a test's capture)
            sys.stdout.flush()


def _described(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(error)).strip()


def _main(control_fd: int) -> None:
    """The child: import app, start the pump on the sources the parent sends, obey.

    It holds no lasting state of its own (moto's processes hold the data), so unlike
    them it leaves the garbage collector as it is, and never imports moto."""
    from infra.local.pump import Pump

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent stops it
    os.nice(NICENESS)
    control = os.fdopen(control_fd, "w", buffering=1, encoding="utf-8")
    saying = threading.Lock()

    def say(line: str) -> None:
        with saying:
            control.write(line + "\n")

    def failed(where: str, error: BaseException) -> None:
        say(f"error {where} {json.dumps(_described(error))}")

    handlers = importlib.import_module("app")
    say("imported")
    first = sys.stdin.readline()
    if not first.startswith("{"):  # the runner stopped before it started (or is gone)
        return
    sources = json.loads(first)
    pump = Pump(
        handlers,
        stream_arn=sources["stream_arn"],
        queue_urls=sources["queue_urls"],
        on_error=failed,
        concurrency=sources["concurrency"],
    )
    pump.start()
    say("ready")
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "fire":
            try:
                pump.sources.schedules[argument].fire()
            except Exception as error:  # noqa: BLE001 - the parent raises it
                say("failed " + json.dumps(_described(error)))
            else:
                say("fired")
        elif command == "pause":
            say(f"paused {pump.pause():.3f}")
        elif command == "resume":
            pump.resume()
            say("resumed")
        elif command == "invocations":
            say(f"invocations {pump.invocations}")
        elif command == "stop":
            break
    pump.stop()


if __name__ == "__main__":
    _main(int(sys.argv[1]))
