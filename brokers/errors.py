"""One typed error per failure class, each with a message that says what to do.

The engine decides on the class (retry later, trip a breaker, reject a decision), the
trader reads the message. Messages never contain credentials: they pass through the
redactor before they are built (see brokers.credentials).
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base class: `retryable` says whether the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, *, broker: str = "", status: int | None = None) -> None:
        from brokers.credentials import redact

        self.broker = broker
        self.status = status
        prefix = f"{broker}: " if broker else ""
        super().__init__(redact(prefix + message))


class CredentialsMissing(BrokerError):
    """No credentials in the environment: the message lists the variables to set."""


class AuthError(BrokerError):
    """Credentials rejected or expired beyond refresh: a human must re-authorise."""


class Unauthorized(AuthError):
    """A 401 from the broker: the access token may have expired; refreshing may fix it."""


class LiveTradingNotEnabled(BrokerError):
    """A live endpoint or a real order was requested without the explicit opt-in."""


class BrokerTimeout(BrokerError):
    """No answer in time. `maybe_processed`: the request left, so the broker may have acted on
    it (a read timeout); False when it never left (no connection could be made)."""

    retryable = True

    def __init__(self, message: str, *, maybe_processed: bool = True, **kw) -> None:
        super().__init__(message, **kw)
        self.maybe_processed = maybe_processed


class RateLimited(BrokerError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class BrokerUnavailable(BrokerError):
    """5xx or a dropped connection. `maybe_processed` as for BrokerTimeout: a 5xx or a
    connection reset mid-request may hide a processed request; a refused connection may not."""

    retryable = True

    def __init__(self, message: str, *, maybe_processed: bool = True, **kw) -> None:
        super().__init__(message, **kw)
        self.maybe_processed = maybe_processed


class AmbiguousOrder(BrokerError):
    """An order was sent, the answer was lost, and the broker does not show it (yet). It is
    never resent blindly: the engine keeps looking it up by its key for the adapter's
    `lookup_window` before it declares it unsent (see brokers.base)."""


class MalformedResponse(BrokerError):
    """The broker answered with something that is not the documented shape."""


class OrderRejected(BrokerError):
    """The broker (or the paper account) refused the order; the message says why."""


class InvalidRequest(BrokerError):
    """A 4xx the broker gave for a request it considers invalid (never retried)."""


class NotFound(BrokerError):
    pass


class NotSupported(BrokerError):
    """The broker has no such feature (Alpaca has no order preview)."""
