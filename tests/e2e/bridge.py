"""The fake brokers of tests/brokers/fakes.py served over real HTTP (and DXLink over a real
websocket) on 127.0.0.1, so `rules run --broker NAME` can run as a real process against them.

Faults keep their meaning on the wire: a timeout holds the connection open past the client's
timeout (the server has acted, or not, or will act late), a reset closes the socket without
an answer, a status or a malformed body is written as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.brokers.fakes import FakeDXLink, FakeServer

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


class HttpBridge:
    def __init__(self, fake: FakeServer, hang: float) -> None:
        self.fake = fake
        self.hang = hang  # seconds a "timeout" keeps the client waiting
        self.lock = threading.Lock()  # the fakes are not thread-safe
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _any(self) -> None:
                bridge.serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HttpBridge:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = httpx.Request(
            handler.command,
            self.url + handler.path,
            headers=[(k, v) for k, v in handler.headers.items() if k.lower() != "host"],
            content=body,
        )
        try:
            with self.lock:
                response = self.fake.handle(request)
        except httpx.TimeoutException:
            time.sleep(self.hang)  # the client gives up first
            _drop(handler)
            return
        except httpx.TransportError:
            _drop(handler)
            return
        content = response.read()
        handler.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() not in HOP_HEADERS:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


def _drop(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


class DXLinkBridge:
    """FakeDXLink's protocol on a real websocket server (its own event loop thread)."""

    def __init__(self, fake: FakeDXLink) -> None:
        self.fake = fake
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/realtime"

    def start(self) -> DXLinkBridge:
        self.thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self.loop.run_forever()

    async def _serve(self) -> None:
        import websockets

        self.server = await websockets.serve(self._connection, "127.0.0.1", 0)
        self.port = next(iter(self.server.sockets)).getsockname()[1]
        self.ready.set()

    async def _connection(self, ws) -> None:
        import websockets

        fake_socket = await self.fake.connect(self.url)

        async def pump() -> None:
            while True:
                await ws.send(await fake_socket.recv())

        task = asyncio.create_task(pump())
        try:
            async for message in ws:
                await fake_socket.send(message)
        except websockets.ConnectionClosed:
            pass  # the client went away
        finally:
            task.cancel()
