"""`rules serve`: the API and dashboard over a journal, read-only (a finished backtest, or a
running engine's journal from another process)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from rulesengine.server.reader import JournalMissing, JournalReader
from rulesengine.server.serving import DEFAULT_PORT, ServeError, auth_for, parse_address, server


def run(args) -> int:
    try:
        reader = JournalReader(Path(args.data_dir))
        host, port = parse_address(args.address or str(DEFAULT_PORT))
        auth = auth_for(host)
        from rulesengine.server.app import create_app

        instance = server(create_app(reader, auth), host, port)
    except (JournalMissing, ServeError) as error:
        print(f"rules serve: {error}", file=sys.stderr)
        return 2
    except ImportError:
        print("rules serve: needs FastAPI: pip install 'rulesengine[server]'", file=sys.stderr)
        return 2
    print(
        f"rules serve: http://{host}:{port}/ (dashboard), /api/... (see /openapi.json); "
        f"read-only over {reader.path}; {_access(auth)}; Ctrl-C stops",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a server stops
        asyncio.run(instance.serve())
    if not instance.started:
        print(
            f"rules serve: cannot listen on {host}:{port}: choose another address", file=sys.stderr
        )
        return 2
    print("rules serve: stopped")
    return 0


def _access(auth) -> str:
    if auth.open_reads:
        return "reads open to this machine (set RULES_API_TOKEN to require a token)"
    return "reads need a token (Authorization: Bearer)"
