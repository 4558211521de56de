"""MIME assembly: a multipart/alternative message that every mail client can read.

Headers are RFC 2047-encoded where they hold non-ASCII text (subject, display names);
bodies are UTF-8, quoted-printable for Latin scripts and base64 for the others (it
is smaller for Arabic and Urdu). Lines end in CRLF, as SES expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

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


def _address(name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def build(mail: Mail) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(mail.sender_name, mail.sender_address)
    message["To"] = _address(mail.recipient_name, mail.recipient_address)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.sent_at, usegmt=True)
    message["Message-ID"] = make_msgid(domain=mail.sender_address.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    for name, value in mail.headers.items():
        message[name] = value
    encoding = "base64" if mail.language in _BASE64_LANGUAGES else "quoted-printable"
    message.set_content(mail.text, subtype="plain", charset="utf-8", cte=encoding)
    message.add_alternative(mail.html, subtype="html", charset="utf-8", cte=encoding)
    # After the body: setting content clears Content-* headers.
    message["Content-Language"] = mail.language
    return message.as_bytes()
