"""Rules for text that people type: names, titles, addresses.

Names are stored exactly as the person wrote them after trimming and Unicode NFC
normalisation. What is refused, and why:

- control characters (CR, LF, tab, NUL …) and line/paragraph separators: they break
  email headers, CSV exports and layouts;
- bidirectional embedding, override and isolate controls (U+202A–U+202E,
  U+2066–U+2069): they let a name reorder the text around it ("Trojan Source").
  Zero-width joiners and the implicit marks LRM/RLM/ALM stay allowed: Urdu, Persian
  and Arabic spelling needs them and they cannot reorder neighbouring text.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


class TextError(ValueError):
    """A text value broke a rule; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clean_text(value: str, *, max_length: int, required: bool = True) -> str | None:
    """Trim, NFC-normalise and check one line of user text."""
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        if required:
            raise TextError("required", "This field is required.")
        return None
    for char in text:
        if char in BIDI_CONTROLS:
            raise TextError(
                "bidi_control",
                "Text may not contain bidirectional override or isolate characters.",
            )
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise TextError(
                "control_character",
                "Text may not contain control characters such as line breaks or tabs.",
            )
    if len(text) > max_length:
        raise TextError("too_long", f"At most {max_length} characters.")
    return text
