"""The FastAPI application: read endpoints over a journal, control endpoints over a running
engine, a live event stream, and the dashboard. `/openapi.json` describes every endpoint
(the interactive docs pages load scripts from a CDN, so they are off: everything works
offline)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from rulesengine import __version__
from rulesengine.server.auth import Auth, Denied
from rulesengine.server.controls import ControlError, EngineControls
from rulesengine.server.reader import STREAMED, JournalReader

EVENT_NAMES = {
    "decisions": "decision",
    "orders": "order",
    "fills": "fill",
    "alerts": "alert",
    "locks": "lock",
    "rule_versions": "rules",
    "reloads": "reload",
}
KEEPALIVE = 15.0  # seconds between comments on a quiet stream (proxies drop idle ones)


class Reason(BaseModel):
    reason: str = "by hand"


class Kill(BaseModel):
    reason: str = "kill switch through the API"
    close_all: bool = False


def create_app(
    reader: JournalReader,
    auth: Auth,
    controls: EngineControls | None = None,
    now: Callable[[], datetime] | None = None,
    poll: float = 0.5,
) -> FastAPI:
    """`controls` None: a read-only server over a journal (`rules serve`)."""
    app = FastAPI(
        title="rulesengine",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description="The engine's journal, live; control of a running engine.",
    )
    clock = now or (lambda: _journal_time(reader))

    @app.exception_handler(Denied)
    async def denied(request: Request, error: Denied) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        if error.retry_after:
            headers["Retry-After"] = str(int(error.retry_after) + 1)
        return JSONResponse({"error": str(error)}, error.status, headers)

    @app.exception_handler(ControlError)
    async def refused(request: Request, error: ControlError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, error.status)

    def access(level: str) -> Callable[[Request], str]:
        def check(request: Request) -> str:
            client = request.client.host if request.client else "?"
            return auth.check(request.headers.get("authorization"), client, level)

        return check

    read = Depends(access("read"))
    control = Depends(access("control"))

    def engine() -> EngineControls:
        if controls is None:
            raise ControlError(
                409, "read-only server (`rules serve`): control needs `rules run --serve`"
            )
        return controls

    # ------------------------------------------------------------ read
    @app.get("/api/health")
    def health() -> dict[str, Any]:
        """Liveness, without a token: the server answers and the journal opens."""
        return {"ok": True, "mode": "engine" if controls else "journal", "version": __version__}

    @app.get("/api/status", dependencies=[read])
    def status() -> dict[str, Any]:
        at = clock()
        return {
            "mode": "engine" if controls else "journal",
            "now": at.isoformat(),
            "last_tick": reader.meta("last_tick"),
            "account": reader.account(),
            "positions": reader.counts(),
            "locks": reader.locks(active_at=at),
            "control": controls is not None and auth.tokens.control is not None,
        }

    @app.get("/api/positions", dependencies=[read])
    def positions(all: bool = False) -> list[dict[str, Any]]:
        """Open positions (`?all=true`: closed ones too) with legs, mark, P&L and whether the
        mark came from the model (`marked_by_model`)."""
        return reader.positions(include_closed=all)

    @app.get("/api/orders", dependencies=[read])
    def orders(status: str | None = None, limit: int = Query(200, le=5000)) -> list[dict]:
        return reader.orders(status, limit)

    @app.get("/api/decisions", dependencies=[read])
    def decisions(
        kind: str | None = None, strategy: str | None = None, limit: int = Query(100, le=5000)
    ) -> list[dict[str, Any]]:
        return reader.decisions(kind, strategy, limit)

    @app.get("/api/why/{subject}", dependencies=[read])
    def why(subject: str) -> dict[str, Any]:
        """Everything the journal says about a position, candidate or decision id."""
        found = reader.why(subject)
        if found is None:
            raise ControlError(404, f"nothing in the journal about {subject!r}")
        return found

    @app.get("/api/funnel", dependencies=[read])
    def funnel() -> list[dict[str, Any]]:
        """Each strategy's last scan with its funnel (candidates left after each clause)."""
        return reader.funnel()

    @app.get("/api/pnl", dependencies=[read])
    def pnl(period: str = Query("day", pattern="^(day|week|month)$")) -> list[dict[str, Any]]:
        return reader.pnl(period)

    @app.get("/api/equity", dependencies=[read])
    def equity() -> list[dict[str, Any]]:
        return reader.equity()

    @app.get("/api/rules", dependencies=[read])
    def rules() -> list[dict[str, Any]]:
        """Every rule version the engine loaded or refused, with its diagnostics."""
        return reader.rule_versions()

    @app.get("/api/reloads", dependencies=[read])
    def reloads(limit: int = Query(50, le=1000)) -> list[dict[str, Any]]:
        """Each hot reload: active or refused, and what it said (clause changes, the shadow
        diff of candidates on the last chain, or why it was refused)."""
        return reader.reloads(limit)

    @app.get("/api/locks", dependencies=[read])
    def locks(active: bool = True) -> list[dict[str, Any]]:
        return reader.locks(active_at=clock() if active else None)

    @app.get("/api/alerts", dependencies=[read])
    def alerts(limit: int = Query(50, le=1000)) -> list[dict[str, Any]]:
        return reader.alerts(limit)

    @app.get("/api/notifications", dependencies=[read])
    def notifications(limit: int = Query(50, le=1000)) -> list[dict[str, Any]]:
        return reader.notifications(limit)

    @app.get("/api/events", dependencies=[read])
    async def events(
        request: Request, since: int | None = None, limit: int | None = None
    ) -> StreamingResponse:
        """Server-sent events: decision, order, fill, alert, lock (breaker trips and lifts)
        rules (versions loaded) and reload (each reload's report), as the journal records
        them. `since=0` replays from the start;
        `limit` ends the stream after that many events."""
        start = {t: 0 for t in STREAMED} if since == 0 else None
        stream = _stream(reader, request, start, limit, poll)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    # ------------------------------------------------------------ control
    @app.post("/api/control/pause", dependencies=[control])
    async def pause(body: Reason | None = None) -> dict[str, Any]:
        """Block new entries until resumed; exits and rolls go on."""
        return await engine().pause((body or Reason()).reason)

    @app.post("/api/control/resume", dependencies=[control])
    async def resume() -> dict[str, Any]:
        return await engine().resume()

    @app.post("/api/control/kill", dependencies=[control])
    async def kill(body: Kill | None = None) -> dict[str, Any]:
        """The kill switch: halt (`close_all: true` closes every position too)."""
        asked = body or Kill()
        return await engine().kill(asked.close_all, asked.reason)

    @app.post("/api/control/unlock/{name}", dependencies=[control])
    async def unlock(name: str) -> dict[str, Any]:
        """Lift a breaker lock (a breaker's name, kill_switch, api_pause or all)."""
        return {"lifted": await engine().unlock(name)}

    @app.post("/api/control/close/{position_id}", dependencies=[control])
    async def close(position_id: str, body: Reason | None = None) -> dict[str, Any]:
        return await engine().close(position_id, (body or Reason()).reason)

    @app.post("/api/control/reload", dependencies=[control])
    async def reload() -> dict[str, Any]:
        """Check and load the rule files now (a refused change keeps the running rules)."""
        return await engine().reload()

    @app.post("/api/control/scan", dependencies=[control])
    async def scan(strategy: str | None = None) -> dict[str, Any]:
        """Scan for entries at the next tick, whatever the schedule says."""
        return await engine().scan(strategy)

    # ------------------------------------------------------------ dashboard
    static = resources.files("rulesengine.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(str(static / "index.html"))

    return app


async def _stream(
    reader: JournalReader,
    request: Request,
    start: dict[str, int] | None,
    limit: int | None,
    poll: float,
) -> AsyncIterator[str]:
    marks = start if start is not None else await run_in_threadpool(reader.high_water)
    sent, quiet = 0, 0.0
    yield ": connected\n\n"
    while not await request.is_disconnected():
        rows = await run_in_threadpool(reader.since, marks)
        for table, rowid, data in rows:
            marks[table] = max(marks.get(table, 0), rowid)
            payload = json.dumps(data, default=str)
            yield f"event: {EVENT_NAMES[table]}\nid: {table}:{rowid}\ndata: {payload}\n\n"
            sent += 1
            if limit is not None and sent >= limit:
                return
        quiet = 0.0 if rows else quiet + poll
        if quiet >= KEEPALIVE:
            yield ": keepalive\n\n"
            quiet = 0.0
        await asyncio.sleep(poll)


def _journal_time(reader: JournalReader) -> datetime:
    """A journal's own present: its last tick (a finished backtest's end), else now."""
    last = reader.meta("last_tick")
    return datetime.fromisoformat(last) if last else datetime.now(UTC)
