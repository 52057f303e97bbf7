"""Running the API: uvicorn inside the engine's event loop (`rules run --serve`), or alone
over a journal (`rules serve`). The engine's own Ctrl-C handling stays in charge: uvicorn is
told not to install signal handlers of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from rulesengine.server.auth import Auth, Tokens, bind_problem, is_loopback

DEFAULT_PORT = 8765


class ServeError(Exception):
    """The server cannot start as asked; the message says what to do."""


def parse_address(text: str) -> tuple[str, int]:
    """`8765`, `127.0.0.1:8765` or `0.0.0.0:8765`."""
    host, _, port = text.rpartition(":") if ":" in text else ("127.0.0.1", "", text)
    try:
        number = int(port)
    except ValueError:
        raise ServeError(f"--serve {text}: give a port (8765) or HOST:PORT") from None
    if not 0 < number < 65536:
        raise ServeError(f"--serve {text}: ports run 1..65535")
    return host or "127.0.0.1", number


def auth_for(host: str, tokens: Tokens | None = None) -> Auth:
    tokens = tokens or Tokens.from_env()
    problem = bind_problem(host, tokens)
    if problem:
        raise ServeError(problem)
    return Auth(tokens, is_loopback(host))


def server(app: Any, host: str, port: int) -> Any:
    try:
        import uvicorn
    except ImportError:
        raise ServeError(
            "the API needs FastAPI and uvicorn: pip install 'rulesengine[server]'"
        ) from None

    class Quiet(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the engine handles Ctrl-C
            yield

        def install_signal_handlers(self) -> None:  # older uvicorn
            pass

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    return Quiet(config)


async def start(app: Any, host: str, port: int) -> tuple[Any, asyncio.Task]:
    """Start serving beside the engine; ServeError when the port cannot be had."""
    instance = server(app, host, port)
    task = asyncio.create_task(_guarded(instance.serve()))
    while not instance.started:
        if task.done():
            raise ServeError(
                f"cannot listen on {host}:{port} (in use, or not an address of this machine): "
                "choose another --serve address"
            )
        await asyncio.sleep(0.02)
    return instance, task


async def _guarded(serving: Any) -> None:
    """uvicorn exits the process when it cannot bind: here that only ends its task."""
    try:
        await serving
    except SystemExit:
        return


async def stop(instance: Any, task: asyncio.Task) -> None:
    instance.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, timeout=5)
