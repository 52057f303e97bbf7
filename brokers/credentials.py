"""Credentials come from the environment only, and never leave this module in clear.

Every secret read here is registered with the redactor, so any string built later (a log
line, an exception message, a journal trace) can be scrubbed of it: `redact(text)`. The
logging filter applies it to every record of the `brokers` and `rulesengine` loggers.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from brokers.errors import CredentialsMissing

_MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_VALUE = r"[A-Za-z0-9._~+/=-]{8,}"  # token-like: placeholders such as `...` are left alone
# Bearer tokens and query-string secrets are masked even when they were never registered
# (a token the broker just issued, echoed back in an error body).
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
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
    """Remember a value to scrub from every message (tokens issued at run time too)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


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


class RedactingFilter(logging.Filter):
    """Scrub secrets from a record's final message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Attach the filter to the loggers this project writes to (idempotent)."""
    for name in ("brokers", "rulesengine", "httpx"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


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
