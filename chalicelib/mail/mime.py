"""MIME assembly: ``multipart/mixed`` [``multipart/alternative`` (text, HTML), calendars].

Calendars: ``invite.ics`` (``METHOD:REQUEST``, the sessions held) and ``cancel.ics``
(``METHOD:CANCEL``, sessions given up); an email without either is just the
``multipart/alternative``.

Headers holding non-ASCII text (subject, display names) are RFC 2047 encoded words
(``email.header.Header`` and ``email.utils.formataddr``); bodies are UTF-8,
quoted-printable for Latin scripts and base64 for the others (smaller for Arabic and
Urdu); every line ends in CRLF and stays under 78 characters.

The message has one fixed shape, so it is written directly rather than through the
``email`` package's generator, which cost more CPU than everything else in an email put
together; the tests parse every message back with the ``email`` package.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, make_msgid

_BASE64_LANGUAGES = frozenset({"ar", "ur"})


@dataclass(frozen=True)
class Mail:
    sender_name: str
    sender_address: str  # ASCII
    recipient_name: str
    recipient_address: str  # ASCII (punycode domain)
    subject: str
    text: str
    html: str
    language: str
    sent_at: datetime
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    calendar: bytes | None = None  # METHOD:REQUEST iCalendar, attached as invite.ics
    cancellation: bytes | None = None  # METHOD:CANCEL iCalendar, attached as cancel.ics


def _check_headers(mail: Mail) -> None:
    texts = [
        mail.sender_name,
        mail.sender_address,
        mail.recipient_name,
        mail.recipient_address,
        mail.subject,
        mail.reply_to or "",
        *mail.headers,
        *mail.headers.values(),
    ]
    if any("\r" in text or "\n" in text for text in texts):
        raise ValueError("header text may not contain CR or LF")
    if not all(text.isascii() for text in (mail.sender_address, mail.recipient_address)):
        raise ValueError("addresses must be ASCII (punycode domains)")


def _body(data: bytes, base64_encoded: bool) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, encoded body with CRLF line ends, on the wire and in
    the text it carries: RFC 5545 wants them in calendars, RFC 2046 in text parts)."""
    data = data.replace(b"\r\n", b"\n")
    if base64_encoded:
        data = data.replace(b"\n", b"\r\n")
        encoded = base64.b64encode(data)
        lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
        return "base64", b"\r\n".join(lines) + b"\r\n"
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    return "quoted-printable", encoded.replace(b"\n", b"\r\n")


def _part(content_type: str, data: bytes, base64_encoded: bool, extra: str = "") -> bytes:
    encoding, body = _body(data, base64_encoded)
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n{extra}\r\n"
    return head.encode("ascii") + body


def _multipart(subtype: str, parts: list[bytes]) -> tuple[str, bytes]:
    boundary = f"=_{subtype}_{secrets.token_hex(12)}"
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return f'multipart/{subtype}; boundary="{boundary}"', body


def _header(name: str, value: str) -> str:
    return f"{name}: {value}\r\n"


def build(mail: Mail) -> bytes:
    _check_headers(mail)
    b64 = mail.language in _BASE64_LANGUAGES
    alternative_type, alternative = _multipart(
        "alternative",
        [
            _part('text/plain; charset="utf-8"', mail.text.encode("utf-8"), b64),
            _part('text/html; charset="utf-8"', mail.html.encode("utf-8"), b64),
        ],
    )
    content_type, body = alternative_type, alternative
    calendars = [
        _part(
            f'text/calendar; charset="utf-8"; method={method}',
            data,
            b64,
            f'Content-Disposition: attachment; filename="{filename}"\r\n',
        )
        for filename, method, data in (
            ("invite.ics", "REQUEST", mail.calendar),
            ("cancel.ics", "CANCEL", mail.cancellation),
        )
        if data is not None
    ]
    if calendars:
        content_type, body = _multipart(
            "mixed",
            [f"Content-Type: {alternative_type}\r\n\r\n".encode() + alternative, *calendars],
        )
    subject = Header(mail.subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
    headers = [
        _header("From", formataddr((mail.sender_name, mail.sender_address), "utf-8")),
        _header("To", formataddr((mail.recipient_name, mail.recipient_address), "utf-8")),
    ]
    if mail.reply_to:
        headers.append(_header("Reply-To", mail.reply_to))
    headers += [
        _header("Subject", subject),
        _header("Date", format_datetime(mail.sent_at, usegmt=True)),
        _header("Message-ID", make_msgid(domain=mail.sender_address.rpartition("@")[2])),
        _header("Content-Language", mail.language),
        _header("Auto-Submitted", "auto-generated"),
        *(_header(name, value) for name, value in mail.headers.items()),
        _header("MIME-Version", "1.0"),
        _header("Content-Type", content_type),
    ]
    return "".join(headers).encode("ascii") + b"\r\n" + body
