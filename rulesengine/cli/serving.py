"""`rules run --serve`: the API and dashboard inside the running engine, with control."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from rulesengine.server.auth import Auth
from rulesengine.server.serving import auth_for, parse_address


@dataclass(frozen=True)
class ServeAsked:
    host: str
    port: int
    auth: Auth


def asked(args) -> ServeAsked | None:
    """The address and access `--serve` asks for (None without it), checked before the run
    starts; ServeError says why it cannot be had."""
    if not getattr(args, "serve", None):
        return None
    host, port = parse_address(args.serve)
    return ServeAsked(host, port, auth_for(host))


@contextlib.asynccontextmanager
async def serving(serve: ServeAsked | None, engine, reloader, say) -> AsyncIterator[None]:
    """Serve beside the engine for the duration of the block."""
    if serve is None:
        yield
        return
    from rulesengine.server.app import create_app
    from rulesengine.server.controls import EngineControls
    from rulesengine.server.reader import JournalReader
    from rulesengine.server.serving import start, stop

    reader = JournalReader(engine.data_dir)
    app = create_app(reader, serve.auth, EngineControls(engine, reloader), now=engine.clock.now)
    instance, task = await start(app, serve.host, serve.port)
    control = "on" if serve.auth.tokens.control else "off (set RULES_API_CONTROL_TOKEN)"
    say(f"serving http://{serve.host}:{serve.port}/ (dashboard and API; control {control})")
    try:
        yield
    finally:
        await stop(instance, task)
