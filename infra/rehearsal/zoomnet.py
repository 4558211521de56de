"""Zoom's public hosts over TLS, served by the Zoom stand-in: :class:`ZoomOverTls`.

A deployed stage calls ``https://api.zoom.us/v2`` and ``https://zoom.us/oauth/token``
(it refuses a loopback or plain-HTTP Zoom URL), so the functions keep those very URLs. A
throwaway CA signs a certificate for the hosts; a relay on a loopback port ends TLS
with it and pipes the plain bytes to the stand-in's HTTP port, one thread a
connection (keep-alive connections stay open, as the adapter's pool wants).
``environment()`` is what a function needs to get there: ``REHEARSAL_HOSTS`` (the
runtime sends the hosts to the relay, as DNS would send them to Zoom) and
``SSL_CERT_FILE`` (OpenSSL's default verify paths, which the adapter's
``urllib3.PoolManager`` loads when given no ``ca_certs``, then hold the CA).

The certificates are valid from a day ago to 400 days ahead, so they hold whichever
clock judges them: OpenSSL's (the real one) or a function's moved weeks ahead.
"""

from __future__ import annotations

import contextlib
import datetime
import select
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.local.zoom.standin import ZoomStandIn

VALID_SINCE = datetime.timedelta(days=1)
VALID_FOR = datetime.timedelta(days=400)
_CHUNK = 64 * 1024
_IDLE_CHECK_S = 1.0  # how often an idle connection looks whether the relay is stopping


class ZoomOverTls:
    """The stand-in (already started) at ``https://<host>`` for each of ``hosts``."""

    def __init__(
        self,
        standin: ZoomStandIn,
        directory: Path,
        hosts: tuple[str, ...] = ("api.zoom.us", "zoom.us"),
    ) -> None:
        self.standin = standin
        self.directory = Path(directory)
        self.hosts = tuple(hosts)
        self.ca_path = self.directory / "zoom-ca.pem"
        self.port = 0
        self._upstream: tuple[str, int] = ("127.0.0.1", 0)
        self._context: ssl.SSLContext | None = None
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._stopping = False

    def start(self) -> ZoomOverTls:
        if self._listener is not None:
            raise RuntimeError("the Zoom TLS relay is already started")
        upstream = urlsplit(self.standin.base_url)
        self._upstream = (upstream.hostname or "127.0.0.1", upstream.port or 80)
        self._context = self._server_context()
        listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        listener.settimeout(_IDLE_CHECK_S)  # so that accept sees ``stop``
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stopping = False
        self._spawn(self._accept_loop, "zoom-tls-accept")
        return self

    def environment(self) -> dict[str, str]:
        """What a function's process needs to reach the stand-in at Zoom's hosts."""
        if self._listener is None:
            raise RuntimeError("the Zoom TLS relay is not started")
        routes = ",".join(f"{host}:443=127.0.0.1:{self.port}" for host in self.hosts)
        return {"REHEARSAL_HOSTS": routes, "SSL_CERT_FILE": str(self.ca_path)}

    def stop(self) -> None:
        """Close the listener and every connection, and wait for their threads."""
        if self._listener is None:
            return
        with self._lock:
            self._stopping = True
            connections = list(self._connections)
            threads = list(self._threads)
        with contextlib.suppress(OSError):  # wakes the accept at once (Linux)
            self._listener.shutdown(socket.SHUT_RDWR)
        for connection in connections:  # wakes a relay waiting on an idle keep-alive
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=_IDLE_CHECK_S + 1)
        self._listener.close()
        self._listener = None

    def __enter__(self) -> ZoomOverTls:
        return self if self._listener is not None else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # certificates ----------------------------------------------------------------

    def _server_context(self) -> ssl.SSLContext:
        now = datetime.datetime.now(datetime.UTC)
        since, until = now - VALID_SINCE, now + VALID_FOR
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Majlis rehearsal Zoom CA")])
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(since)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(ca_ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.hosts[0])]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(since)
            .not_valid_after(until)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(host) for host in self.hosts]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        server_pem = self.directory / "zoom-server.pem"
        server_pem.touch(mode=0o600)
        server_pem.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(server_pem)
        return context

    # relaying --------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        try:
            while not self._stopping:
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._spawn(self._relay, "zoom-tls-relay", client)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _relay(self, client: socket.socket) -> None:
        """One client connection: TLS in memory, plain bytes to and from the stand-in."""
        upstream: socket.socket | None = None
        try:
            with self._lock:
                if self._stopping:
                    return
                self._connections.add(client)
            upstream = socket.create_connection(self._upstream, timeout=5)
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(upstream)
            self._pipe(client, upstream)
        except OSError:  # ssl.SSLError included
            pass  # a client that left, failed the handshake or was cut by ``stop``
        finally:
            for end in (client, upstream):
                if end is not None:
                    with self._lock:
                        self._connections.discard(end)
                    end.close()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        assert self._context is not None
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        # A memory BIO keeps TLS in this one thread: both directions share one SSL object.
        tls = self._context.wrap_bio(incoming, outgoing, server_side=True)

        def flush() -> None:
            if outgoing.pending:
                client.sendall(outgoing.read())

        handshaken = False
        while not self._stopping:
            readable, _, _ = select.select([client, upstream], [], [], _IDLE_CHECK_S)
            if client in readable:
                data = client.recv(_CHUNK)
                if not data:
                    return
                incoming.write(data)
                if not handshaken:
                    try:
                        tls.do_handshake()
                        handshaken = True
                    except ssl.SSLWantReadError:
                        pass
                    finally:
                        flush()
                while handshaken:
                    try:
                        plain = tls.read(_CHUNK)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:  # the client's close_notify
                        flush()
                        return
                    if not plain:
                        break
                    upstream.sendall(plain)
                flush()
            if upstream in readable:
                data = upstream.recv(_CHUNK)
                if not data:
                    with contextlib.suppress(ssl.SSLError):
                        tls.unwrap()
                    flush()
                    return
                tls.write(data)
                flush()


def _key_usage(**granted: bool) -> x509.KeyUsage:
    uses = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{use: granted.get(use, False) for use in uses})
