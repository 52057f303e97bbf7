"""Credentials come from the environment only, and never leave this module in clear.

Every secret read here is registered with the redactor, so any string built later (a log
line, an exception message, a journal trace) can be scrubbed of it: `redact(text)`. Every
log record is scrubbed as it is created (`install_log_redaction`).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from brokers.errors import CredentialsMissing

_MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()  # every encoded form of every secret
_raw: set[str] = set()
_VALUE = r"[A-Za-z0-9._~+/=-]{8,}"  # token-like: placeholders such as `...` are left alone
# Bearer tokens and query-string secrets are masked even when they were never registered
# (a token the broker just issued, echoed back in an error body).
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=_-]{8,}"),
    re.compile(r"(?i)((?:access|refresh|id)_token\"?\s*[:=]\s*\"?)" + _VALUE),
    re.compile(
        r"(?i)((?:client_secret|secret|password|apca-api-secret-key)\"?\s*[:=]\s*\"?)" + _VALUE
    ),
]


class Secret:
    """A credential: its repr and str never show the value; `reveal()` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def register_secret(value: str) -> None:
    """Remember a value to scrub from every message (tokens issued at run time too), in every
    encoding it may travel in: raw, URL-encoded, JSON-escaped, base64, and base64 of the
    `a:b` pairs it forms with every other secret (HTTP Basic auth of key and secret)."""
    if not value or len(value) < 4:
        return
    with _lock:
        if value in _raw:
            return
        others = list(_raw)
        _raw.add(value)
        _secrets.update(_encodings(value))
        for other in [*others, value]:
            for pair in (f"{other}:{value}", f"{value}:{other}"):
                _secrets.update(_base64(pair))


def _encodings(value: str) -> set[str]:
    forms = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        *_base64(value),
    }
    return {f for f in forms if len(f) >= 4}


def _base64(text: str) -> set[str]:
    raw = text.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return encoded | {e.rstrip("=") for e in encoded}


def redact(text: str) -> str:
    """`text` with every known secret and every token-looking value masked."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, _MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _MASK, text)
    return text


def install_log_redaction() -> None:
    """Scrub every log record's message as it is created, whatever logger (a child such as
    `brokers.http` or `httpcore.http11` too: a logger's filters do not see its children's
    records) and whatever handler writes it. Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacting", False):
        return

    def redacting(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.msg = redact(record.getMessage())
        record.args = None
        return record

    redacting.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)


@dataclass(frozen=True)
class EnvVar:
    name: str
    doc: str
    required: bool = True


class EnvValues(dict[str, Secret | None]):
    """The variables read: required ones are known present (read_env refused otherwise)."""

    def required(self, name: str) -> Secret:
        value = self[name]
        if value is None:
            raise KeyError(f"{name} is not a required variable of this broker")
        return value


def read_env(broker: str, wanted: list[EnvVar], env: Mapping[str, str] | None = None) -> EnvValues:
    """Read the broker's variables; if any required one is missing, say which, and how."""
    env = os.environ if env is None else env
    values = EnvValues({v.name: (Secret(env[v.name]) if env.get(v.name) else None) for v in wanted})
    missing = [v for v in wanted if v.required and values[v.name] is None]
    if missing:
        lines = "\n".join(f"  export {v.name}=...   # {v.doc}" for v in missing)
        raise CredentialsMissing(
            f"no credentials set. Set these environment variables and try again:\n{lines}",
            broker=broker,
        )
    return values


install_log_redaction()
