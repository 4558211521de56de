"""Zoom's hosts over TLS in the rehearsal: the stand-in behind a relay a function trusts."""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import os
import socket
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import urllib3
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from infra.local.zoom import ZoomStandIn
from infra.rehearsal.functions import Container
from infra.rehearsal.stack import Function
from infra.rehearsal.zoomnet import ZoomOverTls

MEETING = "81234567890"


class _ZoomConnection(http.client.HTTPSConnection):
    """``host`` over TLS, its TCP connection made to the relay's loopback port."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(host, 443, context=context, timeout=5)
        self.relay_port = port

    def connect(self) -> None:
        plain = socket.create_connection(("127.0.0.1", self.relay_port), self.timeout)
        self.sock = self._context.wrap_socket(plain, server_hostname=self.host)


@pytest.fixture
def zoom() -> Iterator[ZoomStandIn]:
    standin = ZoomStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def relay(zoom: ZoomStandIn, tmp_path: Path) -> Iterator[ZoomOverTls]:
    with ZoomOverTls(zoom, tmp_path) as started:
        yield started


def _trusting(relay: ZoomOverTls) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=relay.ca_path)
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # as Python 3.13 and urllib3 on it verify
    return context


def _token(connection: http.client.HTTPConnection, zoom: ZoomStandIn) -> str:
    query = urlencode({"grant_type": "account_credentials", "account_id": zoom.account_id})
    basic = base64.b64encode(f"{zoom.client_id}:{zoom.client_secret}".encode()).decode()
    connection.request("POST", f"/oauth/token?{query}", headers={"Authorization": f"Basic {basic}"})
    answer = connection.getresponse()
    assert answer.status == 200
    return json.loads(answer.read())["access_token"]


def _registrants(connection: http.client.HTTPConnection, token: str) -> http.client.HTTPResponse:
    path = f"/v2/meetings/{MEETING}/registrants"
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    return connection.getresponse()


def test_the_stand_in_answers_at_zooms_hosts_over_one_kept_connection(relay, zoom):
    # Given a connection to api.zoom.us that trusts the relay's CA
    connection = _ZoomConnection("api.zoom.us", relay.port, _trusting(relay))
    # When it asks for a token, then lists registrants, on the same connection
    token = _token(connection, zoom)
    first = connection.sock
    listed = _registrants(connection, token)
    # Then the stand-in answered both, through one TLS connection
    assert listed.status == 200
    assert json.loads(listed.read())["registrants"] == []
    assert connection.sock is first
    assert (zoom.calls("token"), zoom.calls("list")) == (1, 1)
    connection.close()


def test_connections_at_once_each_get_their_answers(relay, zoom):
    zoom.rate_limits = {"medium": 0}  # the relay's concurrency, not Zoom's limits, on trial
    context = _trusting(relay)

    def ask(_: int) -> list[int]:
        connection = _ZoomConnection("zoom.us", relay.port, context)
        token = _token(connection, zoom)
        statuses = []
        for _ in range(3):
            answer = _registrants(connection, token)
            answer.read()
            statuses.append(answer.status)
        connection.close()
        return statuses

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(ask, range(8))) == [[200, 200, 200]] * 8
    assert zoom.calls("list") == 24


def test_a_client_without_the_ca_or_for_another_host_is_refused(relay, zoom):
    untrusting = _ZoomConnection("api.zoom.us", relay.port, ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.connect()
    elsewhere = _ZoomConnection("zoom.example.org", relay.port, _trusting(relay))
    with pytest.raises(ssl.SSLCertVerificationError):
        elsewhere.connect()
    assert zoom.requests_log == []


def test_clients_that_leave_early_leave_the_relay_serving(relay, zoom):
    # Given clients gone mid-handshake, mid-request and after plain HTTP garbage
    with socket.create_connection(("127.0.0.1", relay.port)) as gone:
        gone.sendall(b"\x16\x03\x01\x00")
    with socket.create_connection(("127.0.0.1", relay.port)) as garbage:
        garbage.sendall(b"GET / HTTP/1.1\r\n\r\n")
    half = _ZoomConnection("api.zoom.us", relay.port, _trusting(relay))
    half.connect()
    half.sock.sendall(b"GET /v2/meetings/")
    half.close()
    # When a client comes then
    connection = _ZoomConnection("api.zoom.us", relay.port, _trusting(relay))
    # Then it is answered
    assert _registrants(connection, _token(connection, zoom)).status == 200
    connection.close()


def test_the_certificate_holds_on_a_clock_moved_60_days_ahead(relay):
    connection = _ZoomConnection("api.zoom.us", relay.port, _trusting(relay))
    connection.connect()
    served = x509.load_der_x509_certificate(connection.sock.getpeercert(binary_form=True))
    connection.close()
    ca = x509.load_pem_x509_certificate(relay.ca_path.read_bytes())
    now = datetime.datetime.now(datetime.UTC)

    def verify(at: datetime.datetime, host: str = "api.zoom.us") -> None:
        verifier = (
            PolicyBuilder().store(Store([ca])).time(at).build_server_verifier(x509.DNSName(host))
        )
        verifier.verify(served, [])

    assert served.not_valid_before_utc <= now - datetime.timedelta(hours=1)
    assert served.not_valid_after_utc >= now + datetime.timedelta(days=60)
    for at in (now - datetime.timedelta(hours=1), now, now + datetime.timedelta(days=60)):
        verify(at)
        verify(at, "zoom.us")
    with pytest.raises(VerificationError):
        verify(now + datetime.timedelta(days=401))


# A function of a bundle: the Zoom adapter's pool as chalicelib/adapters/zoom_api.py
# builds it (no ca_certs), run by the rehearsal's own Lambda runtime.
_APP = """
import json
import socket

import urllib3


def handler(event, context):
    if event.get("elsewhere"):
        try:
            socket.getaddrinfo("example.com", 443)
        except socket.gaierror as error:
            return "refused: " + str(error)
        return "looked up"
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=2.0, read=8.0), retries=False, maxsize=8
    )
    token = http.request(
        "POST",
        "https://zoom.us/oauth/token?" + event["query"],
        headers={"Authorization": "Basic " + event["basic"]},
    )
    bearer = {"Authorization": "Bearer " + json.loads(token.data)["access_token"]}
    listed = http.request(
        "GET", "https://api.zoom.us/v2/meetings/%s/registrants" % event["meeting"], headers=bearer
    )
    return [token.status, listed.status, json.loads(listed.data)["total_records"]]
"""


def _function(zoom: ZoomStandIn, environment: dict[str, str], tmp_path: Path, **event: Any) -> Any:
    """One invocation of the function above in a container of the rehearsal's runtime: a
    bundle of it and urllib3, no site directory, no environment but Lambda's and
    ``environment``."""
    bundle = tmp_path / "bundle"
    if not bundle.exists():
        bundle.mkdir()
        (bundle / "app.py").write_text(_APP, encoding="utf-8")
        (bundle / "urllib3").symlink_to(Path(urllib3.__file__).resolve().parent)
    function = Function("Probe", "probe", "app.handler", "", 128, 30, None, {})
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(bundle),
        "_HANDLER": function.handler,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/probe",
        "AWS_REGION": "us-east-1",
        "REHEARSAL_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:probe",
    } | environment
    container = Container(function, bundle, env, tmp_path / "probe.log")
    try:
        query = urlencode({"grant_type": "account_credentials", "account_id": zoom.account_id})
        basic = base64.b64encode(f"{zoom.client_id}:{zoom.client_secret}".encode()).decode()
        return container.invoke({"query": query, "basic": basic, "meeting": MEETING} | event)
    finally:
        container.close()


def test_a_functions_urllib3_pool_trusts_the_relay_through_ssl_cert_file(relay, zoom, tmp_path):
    # Given a function's container with the relay's environment
    # When it asks zoom.us for a token and api.zoom.us for registrants
    answer = _function(zoom, relay.environment(), tmp_path)
    # Then both are answered by the stand-in, over TLS the pool verified
    assert answer.error is None, (tmp_path / "probe.log").read_text()
    assert answer.result == [200, 200, 0]
    assert (zoom.calls("token"), zoom.calls("list")) == (1, 1)


def test_without_ssl_cert_file_the_pool_refuses_the_relay(relay, zoom, tmp_path):
    environment = {"REHEARSAL_HOSTS": relay.environment()["REHEARSAL_HOSTS"]}
    answer = _function(zoom, environment, tmp_path)
    assert answer.error is not None and "CERTIFICATE_VERIFY_FAILED" in answer.error
    assert zoom.requests_log == []


def test_a_function_looks_up_no_other_host(relay, zoom, tmp_path):
    answer = _function(zoom, relay.environment(), tmp_path, elsewhere=True)
    assert answer.result.startswith("refused: ") and "example.com" in answer.result


def test_the_environment_names_each_host_and_the_ca(relay):
    assert relay.environment() == {
        "REHEARSAL_HOSTS": f"api.zoom.us:443=127.0.0.1:{relay.port},"
        f"zoom.us:443=127.0.0.1:{relay.port}",
        "SSL_CERT_FILE": str(relay.ca_path),
    }
    assert relay.ca_path.name == "zoom-ca.pem"
    assert relay.ca_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
