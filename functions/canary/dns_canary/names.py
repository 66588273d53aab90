"""What a probe may ask for: a DNS name and a record type, checked alike wherever they come from.

The probe plan (the invocation event, ``plan.py``) and the settings (``PROBE_NAMES``,
``settings.py``) both name probes; each turns an ``InvalidName`` into its own error, prefixed
with where the name came from.
"""

from __future__ import annotations

import dns.exception
import dns.name

from dns_canary.constants import MAX_LABEL_LENGTH, MAX_NAME_LENGTH, RECORD_TYPES

# ASCII characters a probe name may hold; non-ASCII names go through IDNA.
_NAME_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._*-")
_KINDS = {type(None): "null", bool: "a boolean", list: "a list", dict: "an object"}


class InvalidName(ValueError):
    """A probe's name or record type is unusable; the message starts with the field's path."""


def check_name(value: object, path: str) -> str:
    """A valid DNS name, returned absolute without the final dot (IDNA-encoded when needed)."""
    if not isinstance(value, str):
        raise InvalidName(f"{path}: expected a DNS name string, got {describe(value)}")
    text = value.strip()
    if not text or text == ".":
        raise InvalidName(f"{path}: empty name")
    bad = next((char for char in text if char < "\x80" and char not in _NAME_ASCII), None)
    if bad is not None:
        raise InvalidName(f"{path}: {value!r} contains the character {bad!r}")
    text = text.removesuffix(".")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"{path}: name is {len(text)} characters long (at most {MAX_NAME_LENGTH})"
        )
    for label in text.split("."):
        if not label:
            raise InvalidName(f"{path}: {value!r} has an empty label")
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidName(
                f"{path}: label {label[:20]!r}... is {len(label)} characters long "
                f"(at most {MAX_LABEL_LENGTH})"
            )
    try:
        absolute = dns.name.from_text(text).to_text(omit_final_dot=True)
    except dns.exception.DNSException as exc:
        raise InvalidName(f"{path}: {value!r} is not a valid DNS name ({exc})") from exc
    if len(absolute) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"{path}: name is {len(absolute)} characters long (at most {MAX_NAME_LENGTH})"
        )
    return absolute


def check_type(value: object, path: str) -> str:
    """A record type the canary asks for, upper-case."""
    if not isinstance(value, str) or value.strip().upper() not in RECORD_TYPES:
        raise InvalidName(
            f"{path}: unsupported record type {describe(value)} "
            f"(use one of {', '.join(RECORD_TYPES)})"
        )
    return value.strip().upper()


def describe(value: object) -> str:
    """A JSON value as an error message shows it: scalars as written, containers by kind."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return repr(value)
    return _KINDS.get(type(value), type(value).__name__)
