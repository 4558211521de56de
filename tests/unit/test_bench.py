"""The benchmark's own machinery: load clients, the import profile, choosing sections."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.__main__ import main
from bench.cold_start import _import_profile, _imported
from bench.load import Request, client_address, drive


class _Answering(BaseHTTPRequestHandler):
    """200, 302 or 503 as the path says; /drop closes the connection without answering."""

    protocol_version = "HTTP/1.1"
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.client_address[0])
        if self.path == "/drop":
            self.close_connection = True
            return
        status = {"/ok": 200, "/moved": 302, "/busy": 503}[self.path]
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Answering,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_each_client_comes_from_its_own_loopback_address(server):
    port, seen = server
    load = drive(port, [Request("GET", "/ok")] * 20, clients=5)
    assert load.statuses == {200: 20}
    assert (
        set(seen)
        == {client_address(i) for i in range(5)}
        == {
            "127.0.0.2",
            "127.0.0.3",
            "127.0.0.4",
            "127.0.0.5",
            "127.0.0.6",
        }
    )


def test_error_statuses_and_lost_connections_are_counted_apart(server):
    port, _ = server
    requests = [Request("GET", path) for path in ("/ok", "/moved", "/busy", "/drop", "/ok")] * 4
    summary = drive(port, requests, clients=2).summary()
    assert summary["statuses"] == {"200": 8, "302": 4, "503": 4}
    assert summary["error_statuses"] == 4  # 302 is a success, as a join link's redirect
    assert summary["connection_errors"] == {"RemoteDisconnected": 4}
    assert summary["requests"] == 20  # a client carries on after a lost connection


def test_the_import_profile_names_who_imported_what():
    report = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 | encodings",
            "import time:      2000 |       2000 |       pydantic_core",
            "import time:      3000 |       5000 |     pydantic",
            "import time:      1000 |       6000 |   chalicelib.domain",
            "import time:       500 |       6500 | app",
            "import time:       700 |        700 |   idna",
            "import time:       300 |       1000 | email_validator",
        ]
    )
    profile = _import_profile(report, floor=frozenset({"pydantic_core", "idna"}))
    assert profile["edges"] == [
        # pydantic's 5 ms less pydantic_core's 2, which the floor imports as well
        {"module": "pydantic", "seconds": 0.003, "imported_by": "chalicelib.domain"},
        # email_validator's 1 ms less idna's 0.7
        {"module": "email_validator", "seconds": 0.0003, "imported_by": "first request"},
    ]
    assert profile["by_package"] == pytest.approx(
        {
            "pydantic": 0.003,
            "pydantic_core": 0.002,
            "chalicelib": 0.001,
            "idna": 0.0007,
            "app": 0.0005,
            "email_validator": 0.0003,
        }
    )
    assert next(iter(profile["by_package"])) == "pydantic"  # the largest first
    assert "encodings" not in profile["by_package"]  # before app: interpreter start-up
    assert set(profile["beyond_floor"]) == {"pydantic", "chalicelib", "app", "email_validator"}
    assert profile["total_beyond_floor"] == pytest.approx(0.0048)
    assert profile["total"] == pytest.approx(0.0075)


def test_the_floor_s_modules_are_read_from_its_report():
    report = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |   botocore.client\n"
        "import time:       300 |        400 | boto3\n"
    )
    assert _imported(report) == {"botocore.client", "boto3"}


def test_an_unknown_section_runs_nothing(capsys):
    assert main(["cold_start", "no_such_section"]) == 2
    assert "no_such_section" in capsys.readouterr().out
