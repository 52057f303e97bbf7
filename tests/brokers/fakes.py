"""Fake broker servers for httpx.MockTransport, serving the documented wire shapes.

Each fake keeps orders in its own wire format, so a test exercises the adapter's real
encoding and parsing. `fail()` injects faults on matching requests: a timeout before or
after the server acted, an HTTP status (429 with Retry-After, 500, 401), or a body that is
not JSON. Nothing here touches the network.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
SHORT_PUT = "SPY   240419P00500000"
LONG_PUT = "SPY   240419P00495000"
LEG_PRICES = {SHORT_PUT: "1.6", LONG_PUT: "0.55"}
LATE_AFTER = 2  # a late-processed request acts after this many further requests
MAX_QUANTITY = 50  # every fake refuses bigger orders, as a buying-power rejection
NOW = "2024-03-12T14:35:00.512Z"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    kind: str  # timeout(_after) | late | connect | reset | status | malformed(_after)
    times: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    skip: int = 0  # matching requests served normally before the fault starts


Handler = Callable[[httpx.Request, re.Match[str]], httpx.Response]


class FakeServer:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.next_id = 1001
        self.late: list[list[Any]] = []  # [request, requests still to serve before it]

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + "$"), handler))

    def fail(self, method: str, pattern: str, kind: str, times: int = 1, **kw: Any) -> None:
        self.faults.append(Fault(method, re.compile(pattern), kind, times, **kw))

    def count(self, method: str, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for m, p in self.calls if m == method and rx.search(p))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append((request.method, path))
        self.last_request = request
        fault = next(
            (
                f
                for f in self.faults
                if f.method == request.method and f.pattern.search(path) and f.times > 0
            ),
            None,
        )
        self.run_late()
        if fault is not None and fault.skip > 0:
            fault.skip -= 1
            fault = None
        if fault is not None:
            fault.times -= 1
            if fault.kind == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if fault.kind == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            if fault.kind == "reset":
                raise httpx.RemoteProtocolError("connection reset mid-request", request=request)
            if fault.kind == "late":  # the answer is lost; the server acts on it later
                self.late.append([request, LATE_AFTER])
                raise httpx.ReadTimeout("timed out (processed late)", request=request)
            if fault.kind == "status":
                return httpx.Response(fault.status, headers=fault.headers, text=fault.body)
            if fault.kind == "malformed":
                return httpx.Response(200, text="<html>502 Bad Gateway</html>")
        response = self.dispatch(request)
        if fault is not None and fault.kind == "malformed_after":  # acted, answered garbage
            return httpx.Response(200, text="<html>502 Bad Gateway</html>")
        if fault is not None and fault.kind == "timeout_after":
            raise httpx.ReadTimeout("timed out after the server acted", request=request)
        return response

    def run_late(self) -> None:
        """Requests whose answer was lost are processed LATE_AFTER requests later."""
        for item in list(self.late):
            item[1] -= 1
            if item[1] < 0:
                self.late.remove(item)
                self.dispatch(item[0])

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        denied = self.authorise(request)
        if denied is not None:
            return denied
        for method, pattern, handler in self.routes:
            match = pattern.match(request.url.path)
            if method == request.method and match:
                return handler(request, match)
        return httpx.Response(404, json={"message": f"no route {request.url.path}"})

    def authorise(self, request: httpx.Request) -> httpx.Response | None:
        return None

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def submissions(self) -> int:
        raise NotImplementedError


class OAuthServer(FakeServer):
    """Access tokens that can be expired mid-session by the test."""

    token_path = "/oauth/token"

    def __init__(self) -> None:
        super().__init__()
        self.issued = 0
        self.valid: set[str] = set()

    def expire_tokens(self) -> None:
        self.valid.clear()

    def issue(self) -> dict[str, Any]:
        self.issued += 1
        token = f"access-{self.issued}-s3cr3t"
        self.valid.add(token)
        return {"access_token": token, "expires_in": 900, "token_type": "Bearer"}

    def authorise(self, request: httpx.Request) -> httpx.Response | None:
        if request.url.path == self.token_path:
            return None
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return httpx.Response(
                401, json={"error": "invalid_token", "message": f"token {token} expired"}
            )
        return None


# -- tastytrade -----------------------------------------------------------------------------


class FakeTastytrade(OAuthServer):
    ACCOUNT = "5WT00001"

    def __init__(self) -> None:
        super().__init__()
        acct = f"/accounts/{self.ACCOUNT}"
        self.route("POST", r"/oauth/token", lambda r, m: httpx.Response(200, json=self.issue()))
        self.route(
            "GET",
            r"/customers/me/accounts",
            lambda r, m: httpx.Response(
                200, json={"data": {"items": [{"account": {"account-number": self.ACCOUNT}}]}}
            ),
        )
        self.route(
            "GET",
            acct + "/balances",
            lambda r, m: httpx.Response(200, json=fixture("tastytrade_balances.json")),
        )
        self.route(
            "GET",
            acct + "/positions",
            lambda r, m: httpx.Response(200, json=fixture("tastytrade_position.json")),
        )
        self.route(
            "GET",
            r"/option-chains/SPX/nested",
            lambda r, m: httpx.Response(200, json=fixture("tastytrade_nested_option_chain.json")),
        )
        self.route(
            "GET",
            r"/market-metrics",
            lambda r, m: httpx.Response(200, json=fixture("tastytrade_market_metrics.json")),
        )
        self.route(
            "GET",
            r"/api-quote-tokens",
            lambda r, m: httpx.Response(
                200,
                json={
                    "data": {
                        "token": "dx-quote-token",
                        "dxlink-url": "wss://dxlink.test/realtime",
                        "level": "api",
                    }
                },
            ),
        )
        self.route("POST", acct + r"/orders/dry-run", self.dry_run)
        self.route("POST", acct + r"/orders", self.place)
        self.route(
            "GET",
            acct + r"/orders/live",
            lambda r, m: httpx.Response(200, json={"data": {"items": list(self.orders.values())}}),
        )
        self.route("GET", acct + r"/orders/(\d+)", self.get)
        self.route("DELETE", acct + r"/orders/(\d+)", self.cancel)
        self.route("PUT", acct + r"/orders/(\d+)", self.replace)

    def submissions(self) -> int:
        return self.count("POST", r"/orders$")

    def _order(self, body: dict[str, Any]) -> dict[str, Any]:
        qtys = [int(leg["quantity"]) for leg in body["legs"]]
        size = math.gcd(*qtys)
        return {
            "id": int(self.new_id()),
            "account-number": self.ACCOUNT,
            "time-in-force": body["time-in-force"],
            "order-type": "Limit",
            "size": str(size),
            "underlying-symbol": "SPY",
            "price": body["price"],
            "price-effect": body["price-effect"],
            "status": "Live",
            "external-identifier": body.get("external-identifier"),
            "updated-at": NOW,
            "legs": [
                {
                    **leg,
                    "quantity": str(leg["quantity"]),
                    "remaining-quantity": str(leg["quantity"]),
                    "fills": [],
                }
                for leg in body["legs"]
            ],
        }

    def dry_run(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        return httpx.Response(200, json=fixture("tastytrade_order_dry_run_response.json"))

    def place(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        body = json.loads(request.content)
        if max(int(leg["quantity"]) for leg in body["legs"]) > MAX_QUANTITY:
            return httpx.Response(
                422,
                json={
                    "error": {
                        "code": "preflight_check_failure",
                        "message": "insufficient buying power",
                    }
                },
            )
        order = self._order(body)
        self.orders[str(order["id"])] = order
        return httpx.Response(201, json={"data": {"order": order}})

    def get(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        order = self.orders.get(m.group(1))
        if order is None:
            return httpx.Response(404, json={"error": {"code": "not_found"}})
        return httpx.Response(200, json={"data": order})

    def cancel(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        order = self.orders[m.group(1)]
        order["status"] = "Cancelled"
        return httpx.Response(200, json={"data": order})

    def replace(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        old = self.orders[m.group(1)]
        old["status"] = "Cancelled"
        new = self._order(json.loads(request.content))
        self.orders[str(new["id"])] = new
        return httpx.Response(200, json={"data": new})

    def fill(self, order_id: str, units: int) -> None:
        order = self.orders[order_id]
        size = int(order["size"])
        for leg in order["legs"]:
            per_unit = int(leg["quantity"]) // size
            leg["fills"].append(
                {
                    "fill-id": f"f{len(leg['fills']) + 1}",
                    "quantity": str(units * per_unit),
                    "fill-price": LEG_PRICES.get(leg["symbol"], "1.0"),
                    "filled-at": NOW,
                }
            )
            leg["remaining-quantity"] = str(int(leg["remaining-quantity"]) - units * per_unit)
        done = all(leg["remaining-quantity"] == "0" for leg in order["legs"])
        order["status"] = "Filled" if done else "Live"


# -- Alpaca ---------------------------------------------------------------------------------


class FakeAlpaca(FakeServer):
    KEY, SECRET = "PKTESTKEY123", "alpaca-secret-xyz"

    def __init__(self) -> None:
        super().__init__()
        self.route(
            "GET",
            r"/v2/account",
            lambda r, m: httpx.Response(200, json=fixture("alpaca_account_options_fields.json")),
        )
        self.route(
            "GET",
            r"/v2/positions",
            lambda r, m: httpx.Response(200, json=fixture("alpaca_position.json")),
        )
        self.route("GET", r"/v2/options/contracts", self.contracts)
        self.route("GET", r"/v1beta1/options/snapshots/SPY", self.chain_snapshots)
        self.route("GET", r"/v1beta1/options/snapshots", self.snapshots)
        self.route(
            "GET",
            r"/v2/stocks/quotes/latest",
            lambda r, m: httpx.Response(
                200,
                json={
                    "quotes": {
                        "SPY": {
                            "ap": 510.45,
                            "as": 3,
                            "bp": 510.4,
                            "bs": 5,
                            "t": "2024-03-12T15:01:43Z",
                        }
                    }
                },
            ),
        )
        self.route("POST", r"/v2/orders", self.place)
        self.route("GET", r"/v2/orders:by_client_order_id", self.by_client_id)
        self.route("GET", r"/v2/orders/([\w-]+)", self.get)
        self.route("DELETE", r"/v2/orders/([\w-]+)", self.cancel)
        self.route("PATCH", r"/v2/orders/([\w-]+)", self.replace)

    def authorise(self, request: httpx.Request) -> httpx.Response | None:
        if (
            request.headers.get("APCA-API-KEY-ID") != self.KEY
            or request.headers.get("APCA-API-SECRET-KEY") != self.SECRET
        ):
            return httpx.Response(
                401, json={"code": 40110000, "message": "request is not authorized"}
            )
        return None

    def submissions(self) -> int:
        return self.count("POST", r"/v2/orders$")

    def contracts(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        page = fixture("alpaca_option_contracts.json")
        if request.url.params.get("page_token") == page["next_page_token"]:
            second = copy.deepcopy(page["option_contracts"][0])
            second.update(
                symbol="SPY240419P00495000", strike_price="495", name="SPY Apr 19 2024 495 Put"
            )
            return httpx.Response(200, json={"option_contracts": [second], "next_page_token": None})
        return httpx.Response(200, json=page)

    def chain_snapshots(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        snaps = fixture("alpaca_option_chain_snapshot.json")["snapshots"]
        first, second = list(snaps)
        if request.url.params.get("page_token") == "p2":
            return httpx.Response(
                200, json={"snapshots": {second: snaps[second]}, "next_page_token": None}
            )
        return httpx.Response(
            200, json={"snapshots": {first: snaps[first]}, "next_page_token": "p2"}
        )

    def snapshots(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        wanted = request.url.params.get("symbols", "").split(",")
        snaps = fixture("alpaca_option_chain_snapshot.json")["snapshots"]
        return httpx.Response(
            200, json={"snapshots": {s: v for s, v in snaps.items() if s in wanted}}
        )

    def place(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        body = json.loads(request.content)
        if any(o["client_order_id"] == body["client_order_id"] for o in self.orders.values()):
            return httpx.Response(
                422, json={"code": 40010001, "message": "client_order_id must be unique"}
            )
        if int(body["qty"]) > MAX_QUANTITY:
            return httpx.Response(
                403, json={"code": 40310000, "message": "insufficient options buying power"}
            )
        order = self._order(body)
        self.orders[order["id"]] = order
        return httpx.Response(200, json=order)

    def _order(self, body: dict[str, Any]) -> dict[str, Any]:
        order = copy.deepcopy(fixture("alpaca_mleg_order_response.json"))
        order_id = f"order-{self.new_id()}"
        legs = body.get("legs") or [
            {
                "symbol": body["symbol"],
                "side": body["side"],
                "ratio_qty": "1",
                "position_intent": body.get("position_intent", ""),
            }
        ]
        template = order["legs"][0]
        order.update(
            id=order_id,
            client_order_id=body["client_order_id"],
            qty=body["qty"],
            limit_price=body["limit_price"],
            status="accepted",
            order_class=body.get("order_class", "simple"),
            time_in_force=body["time_in_force"],
        )
        order["legs"] = [
            {
                **template,
                "id": f"{order_id}-leg{i}",
                "symbol": leg["symbol"],
                "side": leg["side"],
                "ratio_qty": leg["ratio_qty"],
                "position_intent": leg["position_intent"],
                "qty": body["qty"],
            }
            for i, leg in enumerate(legs)
        ]
        if not body.get("legs"):
            order.update(symbol=body["symbol"], side=body["side"], legs=None, filled_qty="0")
        return order

    def by_client_id(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        key = request.url.params.get("client_order_id")
        found = next((o for o in self.orders.values() if o["client_order_id"] == key), None)
        if found is None:
            return httpx.Response(404, json={"code": 40410000, "message": "order not found"})
        return httpx.Response(200, json=found)

    def get(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        order = self.orders.get(m.group(1))
        if order is None:
            return httpx.Response(404, json={"code": 40410000, "message": "order not found"})
        return httpx.Response(200, json=order)

    def cancel(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        order = self.orders[m.group(1)]
        if order["status"] in ("filled", "canceled", "replaced"):
            return httpx.Response(
                422, json={"code": 42210000, "message": f"order is already {order['status']}"}
            )
        order["status"] = "canceled"
        return httpx.Response(204)

    def replace(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        old = self.orders[m.group(1)]
        new = copy.deepcopy(old)
        new_id = f"order-{self.new_id()}"
        new.update(
            id=new_id,
            limit_price=json.loads(request.content)["limit_price"],
            replaces=old["id"],
            client_order_id=f"{old['client_order_id']}-r",
        )
        old.update(status="replaced", replaced_by=new_id)
        self.orders[new_id] = new
        return httpx.Response(200, json=new)

    def fill(self, order_id: str, units: int) -> None:
        order = self.orders[order_id]
        done = int(order["filled_qty"]) + units
        order["filled_qty"] = str(done)
        order["status"] = "filled" if done == int(order["qty"]) else "partially_filled"
        net = sum(
            (1 if leg["side"] == "buy" else -1) * float(LEG_PRICES[_padded(leg["symbol"])])
            for leg in order["legs"] or []
        )
        order["filled_avg_price"] = f"{net:.2f}"
        for leg in order["legs"] or []:
            leg["filled_qty"] = str(done)
            leg["filled_avg_price"] = LEG_PRICES[_padded(leg["symbol"])]


def _padded(symbol: str) -> str:
    return f"{symbol[:-15]:<6}{symbol[-15:]}"


# -- Schwab ---------------------------------------------------------------------------------


class FakeSchwab(OAuthServer):
    token_path = "/v1/oauth/token"
    HASH = "E6A3B1C9HASH"
    APP_KEY, APP_SECRET = "schwab-app-key", "schwab-app-secret"

    def __init__(self) -> None:
        super().__init__()
        self.reject_previews = False
        self.truncate_longer_than: int | None = None  # days
        self.chain_requests: list[tuple[str, str]] = []
        acct = f"/trader/v1/accounts/{self.HASH}"
        self.route("POST", r"/v1/oauth/token", self.token)
        self.route(
            "GET",
            r"/trader/v1/accounts/accountNumbers",
            lambda r, m: httpx.Response(
                200, json=[{"accountNumber": "12345678", "hashValue": self.HASH}]
            ),
        )
        self.route(
            "GET", acct, lambda r, m: httpx.Response(200, json=fixture("schwab_position.json"))
        )
        self.route("GET", r"/marketdata/v1/chains", self.chain)
        self.route("GET", r"/marketdata/v1/quotes", self.quotes)
        self.route("POST", acct + r"/previewOrder", self.preview)
        self.route("POST", acct + r"/orders", self.place)
        self.route(
            "GET",
            acct + r"/orders",
            lambda r, m: httpx.Response(200, json=list(self.orders.values())),
        )
        self.route("GET", acct + r"/orders/(\d+)", self.get)
        self.route("DELETE", acct + r"/orders/(\d+)", self.cancel)
        self.route("PUT", acct + r"/orders/(\d+)", self.replace)

    def token(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        import base64

        expected = base64.b64encode(f"{self.APP_KEY}:{self.APP_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return httpx.Response(401, json={"error": "invalid_client"})
        return httpx.Response(200, json={**self.issue(), "refresh_token": "rt-new-s3cr3t"})

    def submissions(self) -> int:
        return self.count("POST", r"/orders$")

    def chain(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        from datetime import date

        start = date.fromisoformat(request.url.params["fromDate"])
        end = date.fromisoformat(request.url.params["toDate"])
        self.chain_requests.append((start, end))
        body = fixture("schwab_option_chain.json")
        if self.truncate_longer_than is not None and (end - start).days > self.truncate_longer_than:
            body["isChainTruncated"] = True
            return httpx.Response(200, json=body)
        if not start <= date(2024, 4, 19) <= end:
            body["putExpDateMap"] = {}
        return httpx.Response(200, json=body)

    def quotes(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        chain = fixture("schwab_option_chain.json")["putExpDateMap"]["2024-04-19:38"]
        contracts = {c["symbol"]: c for rows in chain.values() for c in rows}
        result = {}
        for symbol in request.url.params["symbols"].split(","):
            c = contracts.get(symbol)
            if c:
                result[symbol] = {
                    "assetMainType": "OPTION",
                    "symbol": symbol,
                    "quote": {
                        "bidPrice": c["bid"],
                        "askPrice": c["ask"],
                        "bidSize": c["bidSize"],
                        "askSize": c["askSize"],
                        "lastPrice": c["last"],
                        "volatility": c["volatility"],
                        "delta": -999.0,
                        "gamma": c["gamma"],
                        "quoteTime": c["quoteTimeInLong"],
                    },
                }
        return httpx.Response(200, json=result)

    def preview(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        body = fixture("schwab_preview_order_response.json")
        if self.reject_previews:
            body["orderValidationResult"]["rejects"] = [
                {
                    "validationRuleName": "BUYING_POWER",
                    "message": "Insufficient buying power.",
                    "originalSeverity": "REJECT",
                }
            ]
        return httpx.Response(200, json=body)

    def place(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        body = json.loads(request.content)
        if body["quantity"] > MAX_QUANTITY:
            return httpx.Response(
                400, json={"message": "Order rejected: insufficient buying power"}
            )
        order_id = self.new_id()
        self.orders[order_id] = {
            **body,
            "orderId": int(order_id),
            "status": "WORKING",
            "filledQuantity": 0,
            "enteredTime": NOW,
            "orderLegCollection": [
                {**leg, "legId": i + 1} for i, leg in enumerate(body["orderLegCollection"])
            ],
            "orderActivityCollection": [],
        }
        location = f"https://api.schwabapi.com/trader/v1/accounts/{self.HASH}/orders/{order_id}"
        return httpx.Response(201, headers={"Location": location})

    def get(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        order = self.orders.get(m.group(1))
        if order is None:
            return httpx.Response(404, json={"message": "Order not found"})
        return httpx.Response(200, json=order)

    def cancel(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        self.orders[m.group(1)]["status"] = "CANCELED"
        return httpx.Response(200)

    def replace(self, request: httpx.Request, m: re.Match[str]) -> httpx.Response:
        self.orders[m.group(1)]["status"] = "REPLACED"
        response = self.place(request, m)
        return response

    def fill(self, order_id: str, units: int) -> None:
        order = self.orders[order_id]
        order["filledQuantity"] += units
        order["status"] = "FILLED" if order["filledQuantity"] == order["quantity"] else "WORKING"
        order["orderActivityCollection"].append(
            {
                "activityType": "EXECUTION",
                "activityId": len(order["orderActivityCollection"]) + 1,
                "quantity": units,
                "executionLegs": [
                    {
                        "legId": leg["legId"],
                        "quantity": units * leg["quantity"] // order["quantity"],
                        "price": float(LEG_PRICES[leg["instrument"]["symbol"]]),
                        "time": NOW,
                    }
                    for leg in order["orderLegCollection"]
                ],
            }
        )


# -- DXLink websocket -------------------------------------------------------------------------

DX_VALUES = {
    ".SPXW240312P5100": {
        "Quote": [3.4, 3.6, 120.0, 95.0],
        "Greeks": [3.49, 0.1312, -0.2731, 0.0061, -11.82, -0.0071, 0.9173],
    },
    ".SPY240419P500": {
        "Quote": [1.58, 1.62, 85.0, 120.0],
        "Greeks": [1.6, 0.1523, -0.2412, 0.0091, -0.0893, -0.1187, 0.4412],
    },
    ".SPY240419P495": {
        "Quote": [0.54, 0.57, 150.0, 200.0],
        "Greeks": [0.555, 0.1641, -0.1605, 0.0069, -0.0712, -0.0801, 0.3507],
    },
    "SPX": {"Quote": [5117.94, 5118.52, "NaN", "NaN"]},
}


class FakeDXLink:
    """A DXLink server behind a fake websocket. `silent_subscriptions` ignores that many
    subscriptions (the feed goes quiet); `dead_connections` accepts that many connections
    that never send data."""

    def __init__(self, token: str = "dx-quote-token") -> None:
        self.token = token
        self.connections = 0
        self.sent: list[dict[str, Any]] = []
        self.silent_subscriptions = 0
        self.dead_connections = 0

    async def connect(self, url: str) -> FakeSocket:
        self.connections += 1
        dead = self.dead_connections > 0
        self.dead_connections -= 1 if dead else 0
        return FakeSocket(self, dead)


class FakeSocket:
    def __init__(self, server: FakeDXLink, dead: bool) -> None:
        self.server = server
        self.dead = dead
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.fields: dict[str, list[str]] = {}
        self.closed = False

    def _reply(self, message: dict[str, Any]) -> None:
        self.inbox.put_nowait(json.dumps(message))

    async def send(self, raw: str) -> None:
        message = json.loads(raw)
        self.server.sent.append(message)
        kind = message["type"]
        if kind == "SETUP":
            self._reply(
                {
                    "type": "SETUP",
                    "channel": 0,
                    "keepaliveTimeout": 60,
                    "acceptKeepaliveTimeout": 60,
                    "version": "1.0-fake",
                }
            )
            self._reply({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
        elif kind == "AUTH":
            ok = message["token"] == self.server.token
            self._reply(
                {
                    "type": "AUTH_STATE",
                    "channel": 0,
                    "state": "AUTHORIZED" if ok else "UNAUTHORIZED",
                }
            )
        elif kind == "CHANNEL_REQUEST":
            self._reply({**message, "type": "CHANNEL_OPENED"})
        elif kind == "FEED_SETUP":
            self.fields = message["acceptEventFields"]
            self._reply(
                {
                    "type": "FEED_CONFIG",
                    "channel": message["channel"],
                    "dataFormat": "COMPACT",
                    "eventFields": self.fields,
                }
            )
        elif kind == "FEED_SUBSCRIPTION":
            if self.dead:
                return
            if self.server.silent_subscriptions > 0:
                self.server.silent_subscriptions -= 1
                return
            self._data(message["channel"], message["add"])

    def _data(self, channel: int, adds: list[dict[str, str]]) -> None:
        by_type: dict[str, list[Any]] = {}
        for add in adds:
            values = DX_VALUES.get(add["symbol"], {}).get(add["type"])
            if values is None:
                continue
            width = len(self.fields[add["type"]]) - 2  # eventSymbol, eventTime come first
            by_type.setdefault(add["type"], []).extend([add["symbol"], 0, *values[:width]])
        data: list[Any] = []
        for kind, values in by_type.items():
            data += [kind, values]
        self._reply({"type": "FEED_DATA", "channel": channel, "data": data})

    async def recv(self) -> str:
        return await self.inbox.get()

    async def close(self) -> None:
        self.closed = True
