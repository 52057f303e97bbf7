"""Bearer tokens from the environment, compared in constant time, with failed-auth throttling.

RULES_API_TOKEN reads; RULES_API_CONTROL_TOKEN reads and controls. On 127.0.0.1 without a
read token, reads are open to this machine; any other address needs both tokens set (the
server refuses to start otherwise). Control always needs its token. Tokens are never logged,
echoed or put in an error."""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

READ_ENV = "RULES_API_TOKEN"
CONTROL_ENV = "RULES_API_CONTROL_TOKEN"
MAX_FAILURES = 5  # failed attempts from one client within WINDOW ...
WINDOW = 60.0
BLOCKED_FOR = 60.0  # ... block it for this long


@dataclass(frozen=True)
class Tokens:
    read: str | None = field(default=None, repr=False)
    control: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Tokens:
        env = os.environ if environ is None else environ
        return cls(env.get(READ_ENV) or None, env.get(CONTROL_ENV) or None)


def bind_problem(host: str, tokens: Tokens) -> str | None:
    """Why the server may not listen on `host` with these tokens; None when it may."""
    if is_loopback(host):
        return None
    pairs = ((READ_ENV, tokens.read), (CONTROL_ENV, tokens.control))
    missing = [name for name, value in pairs if not value]
    if missing:
        return (
            f"listening on {host} (not this machine only) needs {' and '.join(missing)} set: "
            "export them (long random strings), or bind 127.0.0.1"
        )
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Throttle:
    """Failed attempts per client; a client with too many is refused for a while."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.failures: dict[str, deque[float]] = {}
        self.blocked_until: dict[str, float] = {}
        self.lock = threading.Lock()

    def blocked(self, client: str) -> float:
        """Seconds the client must still wait (0: not blocked)."""
        with self.lock:
            return max(0.0, self.blocked_until.get(client, 0.0) - self.clock())

    def failed(self, client: str) -> None:
        now = self.clock()
        with self.lock:
            seen = self.failures.setdefault(client, deque())
            seen.append(now)
            while seen and seen[0] < now - WINDOW:
                seen.popleft()
            if len(seen) >= MAX_FAILURES:
                self.blocked_until[client] = now + BLOCKED_FOR
                seen.clear()


class Denied(Exception):
    def __init__(self, status: int, message: str, retry_after: float = 0.0):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Auth:
    def __init__(self, tokens: Tokens, loopback: bool, throttle: Throttle | None = None):
        self.tokens = tokens
        self.open_reads = loopback and tokens.read is None
        self.throttle = throttle or Throttle()

    def check(self, header: str | None, client: str, need: str) -> str:
        """The level granted ('read' or 'control'), or Denied (401, 403 or 429)."""
        wait = self.throttle.blocked(client)
        if wait > 0:
            raise Denied(429, f"too many failed attempts; try again in {wait:.0f}s", wait)
        presented = _bearer(header)
        granted = self._level(presented)
        if presented is not None and granted is None:
            self.throttle.failed(client)
            raise Denied(401, "wrong token")
        if need == "control":
            if self.tokens.control is None:
                raise Denied(403, f"control is off: set {CONTROL_ENV} and restart the engine")
            if granted != "control":
                if presented is None:
                    raise Denied(401, "the control token is needed (Authorization: Bearer ...)")
                raise Denied(403, "this token reads; control needs the control token")
            return granted
        if granted is None and not self.open_reads:
            raise Denied(401, "a token is needed (Authorization: Bearer ...)")
        return granted or "read"

    def _level(self, presented: str | None) -> str | None:
        if presented is None:
            return None
        if _same(presented, self.tokens.control):
            return "control"
        if _same(presented, self.tokens.read):
            return "read"
        return None


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _same(presented: str, expected: str | None) -> bool:
    if expected is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
