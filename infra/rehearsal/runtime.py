"""Lambda's Python runtime for one function of an unzipped bundle, run as ``python -S``.

Started by :mod:`infra.rehearsal.functions` with no site directory, so only the
standard library and the bundle (``LAMBDA_TASK_ROOT``, first on the path as
``/var/task`` is on Lambda) can be imported: a package missing from the bundle
fails here as it would in AWS. This file imports nothing of the project.

The parent gives the function's environment (the template's variables, Lambda's own,
its role's credentials and ``AWS_ENDPOINT_URL``) and talks over two pipes: one JSON
line per invocation on stdin (``{"id", "event"}``) and one JSON line per answer on the
descriptor ``REHEARSAL_RESULT_FD`` (``{"id", "result"}`` or ``{"id", "error"}``, with
``ms``); the first line written there says whether the handler imported (Lambda's
init). What the function prints is its log, as on Lambda.

``REHEARSAL_CLOCK_OFFSET`` (seconds) runs the function that far from now: the
rehearsal's clock, which jumps between the days of a conference (a line
``{"id", "clock": offset}`` moves a warm container's clock with it). ``time-machine``
(from ``REHEARSAL_CLOCK_LIB``, a directory holding it alone) moves the wall clock
(``time.time``, ``datetime.now``) and leaves the monotonic one, so sleeps and
timeouts keep their length.

Sockets reach loopback only, and no host name is looked up but ``localhost``.
``REHEARSAL_HOSTS`` (``host:port=127.0.0.1:port,...``)
sends a named host to a loopback stand-in, as DNS would send it to the real one.
"""

import importlib
import json
import os
import socket
import sys
import time
import traceback

started = time.perf_counter()
sys.path[0:1] = [os.environ["LAMBDA_TASK_ROOT"]]  # this file's directory is not on the path

_LOOPBACK = ("127.0.0.1", "::1")
_routes = {}
for pair in filter(None, os.environ.get("REHEARSAL_HOSTS", "").split(",")):
    wanted, _, given = pair.partition("=")
    host, _, port = wanted.rpartition(":")
    to_host, _, to_port = given.rpartition(":")
    _routes[(host, int(port))] = (to_host, int(to_port))

_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect


def _resolve(host, port, *args, **kwargs):
    if (host, port) in _routes:
        return _getaddrinfo(*_routes[(host, port)], *args, **kwargs)
    if host not in (*_LOOPBACK, "localhost", None):  # no name is looked up anywhere
        raise socket.gaierror(socket.EAI_NONAME, f"no route from the rehearsal to {host}")
    return _getaddrinfo(host, port, *args, **kwargs)


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
        raise ConnectionRefusedError(f"no route from the rehearsal to {address[0]}")
    return _connect(self, address)


_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
        raise ConnectionRefusedError(f"no route from the rehearsal to {address[0]}")
    return _connect_ex(self, address)


def _guarded_sendto(self, data, *rest):
    address = rest[-1]
    if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
        raise ConnectionRefusedError(f"no route from the rehearsal to {address[0]}")
    return _sendto(self, data, *rest)


socket.getaddrinfo = _resolve
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.socket.sendto = _guarded_sendto

_traveller = None


def _move_clock(offset):
    """The wall clock ``offset`` seconds from the real one, from now on."""
    global _traveller
    import time_machine

    if _traveller is not None:
        _traveller.stop()  # back to the real clock, to measure from it
    _traveller = time_machine.travel(time.time() + offset)
    _traveller.start()


if os.environ.get("REHEARSAL_CLOCK_OFFSET"):
    sys.path.append(os.environ["REHEARSAL_CLOCK_LIB"])
    _move_clock(float(os.environ["REHEARSAL_CLOCK_OFFSET"]))
    sys.path.pop()

results = os.fdopen(int(os.environ["REHEARSAL_RESULT_FD"]), "w", buffering=1)
module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
try:
    handler = getattr(importlib.import_module(module_name), attribute)
    init = {"init": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
except BaseException as error:  # noqa: BLE001 - an init error, reported as Lambda does
    init = {"init": False, "error": f"{type(error).__name__}: {error}"}
    traceback.print_exc()
results.write(json.dumps(init) + "\n")
if not init["init"]:
    sys.exit(1)

_TIMEOUT_S = float(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"])
_NAME = os.environ["AWS_LAMBDA_FUNCTION_NAME"]


class Context:
    """The ``context`` argument of a Lambda handler."""

    function_version = "$LATEST"

    def __init__(self, request_id):
        self.aws_request_id = request_id
        self.function_name = _NAME
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = os.environ["REHEARSAL_FUNCTION_ARN"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self._deadline = time.monotonic() + _TIMEOUT_S

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


for line in sys.stdin:
    ask = json.loads(line)
    if "clock" in ask:  # the rehearsal's clock jumped: a warm container's moves with it
        _move_clock(float(ask["clock"]))
        results.write(json.dumps({"id": ask["id"], "result": None, "ms": 0}) + "\n")
        continue
    began = time.perf_counter()
    try:
        answer = {"id": ask["id"], "result": handler(ask["event"], Context(ask["id"]))}
    except Exception as error:  # noqa: BLE001 - the invocation failed, as Lambda reports it
        traceback.print_exc()
        answer = {"id": ask["id"], "error": f"{type(error).__name__}: {error}"}
    answer["ms"] = round((time.perf_counter() - began) * 1000, 1)
    sys.stdout.flush()
    sys.stderr.flush()
    results.write(json.dumps(answer, default=str) + "\n")
