"""A fake of SumUp's HTTP API, written from SumUp's published API reference, because no SumUp server can run
here: the only fake in the payment tests. It is a real HTTP server on loopback (Starlette under uvicorn, in a
thread) serving exactly what the shop's `sumup` provider calls, in the reference's shapes:

- `POST /v0.1/checkouts` creates a checkout (201; 409 `DUPLICATED_CHECKOUT` for a reference already used by the
  merchant; 400 for a body without the required fields), with a `hosted_checkout_url` when Hosted Checkout is
  enabled;
- `GET /v0.1/checkouts/{id}` retrieves it (404 `NOT_FOUND`), with `status` PENDING, PAID or FAILED, its
  `transactions` and, once paid, `transaction_id` and `transaction_code`;
- `POST /v1.0/merchants/{merchant_code}/payments/{transaction_id}/refunds` refunds a transaction, in full without
  an amount (201; 404 for a transaction not the merchant's; 409 when nothing is left to refund);
- `GET /v2.1/merchants/{merchant_code}/transactions?id=…` retrieves a transaction (404 for one not the
  merchant's) with its `events`: one `REFUND` event (`status` REFUNDED, `amount`) per refund made;
- every API call needs `Authorization: Bearer <the API key>` (401 with a Problem body otherwise).

What the hosted payment page does for the buyer, the test does with `pay` (or `decline`): the checkout becomes
PAID (or FAILED) and SumUp's unsigned notification, `{"event_type": "CHECKOUT_STATUS_CHANGED", "id": ...}`, is
POSTed to the checkout's `return_url`. `refunds` shows what was refunded; `stop` takes the API down."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port

API_KEY = "sup_sk_rose_ash_test_0123456789"
MERCHANT_CODE = "MROSEASH"
CHANGED = "CHECKOUT_STATUS_CHANGED"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "https://developer.sumup.com/problem/" + title.lower().replace(" ", "-"), "title": title,
            "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _error(status: int, code: str, message: str, param: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error_code": code, "message": message}
    if param:
        body["param"] = param
    return JSONResponse(body, status_code=status)


@dataclass
class SumUpFake:
    url: str
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunded: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls) -> SumUpFake:
        port = free_port()
        fake = cls(f"http://127.0.0.1:{port}")
        app = Starlette(
            routes=[
                Route("/v0.1/checkouts", fake.create, methods=["POST"]),
                Route("/v0.1/checkouts/{id}", fake.retrieve, methods=["GET"]),
                Route("/v1.0/merchants/{merchant}/payments/{transaction}/refunds", fake.refund, methods=["POST"]),
                Route("/v2.1/merchants/{merchant}/transactions", fake.transaction, methods=["GET"]),
                Route("/pay/{id}", fake.hosted_page, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        fake.server = server = uvicorn.Server(config)
        fake.thread = thread = threading.Thread(target=server.run, name="sumup-fake", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the SumUp fake did not start")
            time.sleep(0.02)
        return fake

    def env(self) -> dict[str, str]:
        """The shop's settings for this fake."""
        return {
            "ROSE_ASH_PAYMENT_PROVIDER": "sumup",
            "ROSE_ASH_SUMUP_API_KEY": API_KEY,
            "ROSE_ASH_SUMUP_MERCHANT_CODE": MERCHANT_CODE,
            "ROSE_ASH_SUMUP_API_BASE": self.url,
        }

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(10)

    # The API.

    @staticmethod
    def _authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {API_KEY}"

    async def create(self, request: Request) -> Response:
        if not self._authorised(request):
            return _problem(401, "Unauthorized", "The request is not authorized.")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "INVALID", "Request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "INVALID", "Request body is not an object")
        for name in ("checkout_reference", "amount", "currency", "merchant_code"):
            if body.get(name) in (None, ""):
                return _error(400, "MISSING", "Validation error: required", name)
        if not isinstance(body["amount"], int | float) or body["amount"] <= 0:
            return _error(400, "INVALID", "Validation error: amount must be a positive number", "amount")
        if len(str(body["checkout_reference"])) > 64:
            return _error(400, "INVALID", "Validation error: too long", "checkout_reference")
        if body["merchant_code"] != MERCHANT_CODE:
            return _problem(403, "Forbidden", "The merchant code is not the key's.")
        with self.lock:
            if any(
                c["checkout_reference"] == body["checkout_reference"] and c["merchant_code"] == body["merchant_code"]
                for c in self.checkouts.values()
            ):
                return _error(409, "DUPLICATED_CHECKOUT", "Checkout with this checkout reference already exists")
            checkout_id = str(uuid.uuid4())
            checkout: dict[str, Any] = {
                "id": checkout_id,
                "checkout_reference": str(body["checkout_reference"]),
                "amount": float(body["amount"]),
                "currency": str(body["currency"]),
                "merchant_code": str(body["merchant_code"]),
                "description": str(body.get("description") or ""),
                "status": "PENDING",
                "date": _now(),
                "transactions": [],
            }
            for name in ("return_url", "redirect_url"):
                if body.get(name):
                    checkout[name] = str(body[name])
            if (body.get("hosted_checkout") or {}).get("enabled"):
                checkout["hosted_checkout_url"] = f"{self.url}/pay/{checkout_id}"
            self.checkouts[checkout_id] = checkout
            return JSONResponse(checkout, status_code=201)

    async def retrieve(self, request: Request) -> Response:
        if not self._authorised(request):
            return _problem(401, "Unauthorized", "The request is not authorized.")
        with self.lock:
            checkout = self.checkouts.get(request.path_params["id"])
            if checkout is None:
                return _error(404, "NOT_FOUND", "Resource not found")
            return JSONResponse(checkout)

    async def refund(self, request: Request) -> Response:
        if not self._authorised(request):
            return _problem(401, "Unauthorized", "The request is not authorized.")
        raw = await request.body()
        amount_asked = (await request.json()).get("amount") if raw.strip() else None
        merchant, transaction_id = request.path_params["merchant"], request.path_params["transaction"]
        with self.lock:
            found = [
                (c, t) for c in self.checkouts.values() for t in c["transactions"]
                if t["id"] == transaction_id and c["merchant_code"] == merchant
            ]
            if not found:
                return _problem(404, "Not Found", "The transaction does not exist or is not the merchant's.")
            checkout, transaction = found[0]
            already = sum(Decimal(str(r["amount"])) for r in self.refunded if r["transaction_id"] == transaction_id)
            left = Decimal(str(transaction["amount"])) - already
            amount = Decimal(str(amount_asked)) if amount_asked is not None else left
            if transaction["status"] not in ("SUCCESSFUL", "REFUNDED") or left <= 0 or not 0 < amount <= left:
                return _problem(409, "Conflict", "The transaction cannot be refunded.")
            self.refunded.append(
                {
                    "transaction_id": transaction_id,
                    "checkout_id": checkout["id"],
                    "amount": float(amount),
                    "timestamp": _now(),
                }
            )
            transaction["status"] = "REFUNDED"
            return JSONResponse({}, status_code=201)

    async def transaction(self, request: Request) -> Response:
        if not self._authorised(request):
            return _problem(401, "Unauthorized", "The request is not authorized.")
        merchant, transaction_id = request.path_params["merchant"], request.query_params.get("id")
        with self.lock:
            found = [
                t for c in self.checkouts.values() for t in c["transactions"]
                if t["id"] == transaction_id and c["merchant_code"] == merchant
            ]  # fmt: skip
            if not found:
                return _error(404, "NOT_FOUND", "Resource not found")
            events = [
                {"id": n + 1, "transaction_id": transaction_id, "type": "REFUND", "status": "REFUNDED",
                 "amount": r["amount"], "timestamp": r["timestamp"]}
                for n, r in enumerate(self.refunded) if r["transaction_id"] == transaction_id
            ]  # fmt: skip
            return JSONResponse({**found[0], "events": events})

    async def hosted_page(self, request: Request) -> Response:
        with self.lock:
            checkout = self.checkouts.get(request.path_params["id"])
        if checkout is None:
            return HTMLResponse("<p>This payment link is not valid.</p>", status_code=404)
        return HTMLResponse(f"<h1>Pay {checkout['amount']:.2f} {checkout['currency']}</h1>")

    # What the hosted page does for the buyer, and what the test reads.

    def checkout(self, checkout_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self.checkouts[checkout_id])

    def checkout_for(self, hosted_url: str) -> dict[str, Any]:
        return self.checkout(hosted_url.rstrip("/").rsplit("/", 1)[-1])

    def _settle(self, checkout_id: str, succeeded: bool, notify: bool) -> httpx.Response | None:
        with self.lock:
            checkout = self.checkouts[checkout_id]
            transaction = {
                "id": str(uuid.uuid4()),
                "transaction_code": "T" + uuid.uuid4().hex[:9].upper(),
                "amount": checkout["amount"],
                "currency": checkout["currency"],
                "merchant_code": checkout["merchant_code"],
                "payment_type": "ECOM",
                "status": "SUCCESSFUL" if succeeded else "FAILED",
                "timestamp": _now(),
            }
            checkout["transactions"].append(transaction)
            checkout["status"] = "PAID" if succeeded else "FAILED"
            if succeeded:
                checkout["transaction_id"] = transaction["id"]
                checkout["transaction_code"] = transaction["transaction_code"]
            return_url = checkout.get("return_url")
        if not return_url or not notify:
            return None
        return self.notify(return_url, checkout_id)

    def pay(self, checkout_id: str, notify: bool = True) -> httpx.Response | None:
        """The buyer pays on the hosted page: the checkout is PAID and SumUp notifies the return_url (its answer)."""
        return self._settle(checkout_id, True, notify)

    def decline(self, checkout_id: str, notify: bool = True) -> httpx.Response | None:
        """The card is declined on the hosted page: the checkout is FAILED and SumUp notifies the return_url."""
        return self._settle(checkout_id, False, notify)

    def set_amount(self, checkout_id: str, amount: float) -> None:
        """What a buyer who tampered with a checkout would get: a checkout whose amount is not the order's."""
        with self.lock:
            self.checkouts[checkout_id]["amount"] = amount

    @staticmethod
    def notify(return_url: str, checkout_id: str, **extra: Any) -> httpx.Response:
        """SumUp's notification, unsigned as SumUp sends it (anybody can send one: `extra` is what a forger adds)."""
        body = {"event_type": CHANGED, "id": checkout_id, **extra}
        return httpx.post(return_url, json=body, timeout=30, trust_env=False)

    def refunds(self, checkout_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {k: v for k, v in r.items() if k != "timestamp"}
                for r in self.refunded
                if checkout_id is None or r["checkout_id"] == checkout_id
            ]

    def api(self) -> httpx.Client:
        """SumUp's API as somebody with the shop's key sees it."""
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {API_KEY}"}, trust_env=False, timeout=10
        )
