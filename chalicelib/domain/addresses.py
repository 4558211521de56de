"""Email addresses: validation, the uniqueness key and the form SES can send to.

SES (like most of the mail system) cannot deliver to addresses whose local part (before
the ``@``) is not ASCII; international domains are fine once converted to punycode.
Two addresses are the same registrant when they match case-insensitively with the
domain in its ASCII (punycode) form.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.text import TextError

MAX_ADDRESS_LENGTH = 254


@dataclass(frozen=True)
class Address:
    as_given: str  # what the person typed, trimmed (domain may be Unicode)
    key: str  # case-folded, punycode domain: the uniqueness key per event
    ascii: str  # what goes on the envelope and in the To header

    def __str__(self) -> str:
        return self.as_given


def parse_address(value: str) -> Address:
    # Imported here: email_validator brings dnspython, which only registrations need.
    from email_validator import EmailNotValidError, validate_email

    text = value.strip()
    if not text:
        raise TextError("required", "This field is required.")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise TextError("invalid_email", "This email address is too long.")
    try:
        checked = validate_email(
            text, check_deliverability=False, allow_smtputf8=True, allow_quoted_local=False
        )
    except EmailNotValidError as error:
        raise TextError("invalid_email", f"This is not a valid email address: {error}") from None
    if not checked.local_part.isascii():
        raise TextError(
            "non_ascii_local_part",
            "Email addresses with non-Latin characters before the @ cannot receive our "
            "emails (our mail service does not support them). Please use another address.",
        )
    ascii_address = f"{checked.local_part}@{checked.ascii_domain}"
    return Address(as_given=text, key=ascii_address.lower(), ascii=ascii_address)
