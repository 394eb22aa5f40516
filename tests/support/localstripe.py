"""localstripe (a stateful Stripe stand-in from PyPI) as a real process on loopback, and what a test does with
it: register the shop's webhook, and play the buyer's Stripe.js (a card payment method, confirm the intent)."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import free_port

SECRET_KEY = "sk_test_rose_ash_0123456789"
PUBLISHABLE_KEY = "pk_test_rose_ash_0123456789"
WEBHOOK_SECRET = "whsec_rose_ash_0123456789"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, then the charge is declined (localstripe's list)


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen[bytes]
    http: httpx.Client

    @classmethod
    def start(cls, log_path: Path) -> LocalStripe:
        port = free_port()
        log = log_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        http = httpx.Client(base_url=url, auth=(SECRET_KEY, ""), trust_env=False, timeout=10)
        deadline = time.monotonic() + 30
        while True:
            try:
                if http.get("/v1/payment_intents").status_code == 200:
                    return cls(url, process, http)
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"localstripe did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)

    def env(self) -> dict[str, str]:
        """The shop's settings for this localstripe."""
        return {
            "ROSE_ASH_PAYMENT_PROVIDER": "stripe",
            "ROSE_ASH_STRIPE_SECRET_KEY": SECRET_KEY,
            "ROSE_ASH_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "ROSE_ASH_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ROSE_ASH_STRIPE_API_BASE": self.url,
            "ROSE_ASH_STRIPE_JS_URL": f"{self.url}/js.stripe.com/v3/",
        }

    def send_webhooks_to(self, url: str) -> None:
        response = self.http.post("/_config/webhooks/rose-ash", data={"url": url, "secret": WEBHOOK_SECRET})
        assert response.status_code == 200, response.text

    def pay(self, intent: str, card: str) -> dict[str, Any]:
        """What Stripe.js does for the buyer: a card payment method, attached to the intent, confirmed."""
        method = self.http.post(
            "/v1/payment_methods",
            data={"type": "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2031",
                  "card[cvc]": "123"},
        )
        assert method.status_code == 200, method.text
        attached = self.http.post(f"/v1/payment_intents/{intent}", data={"payment_method": method.json()["id"]})
        assert attached.status_code == 200, attached.text
        return dict(self.http.post(f"/v1/payment_intents/{intent}/confirm").json())

    def intent(self, intent: str) -> dict[str, Any]:
        return dict(self.http.get(f"/v1/payment_intents/{intent}").json())

    def refunds_of(self, intent: str) -> list[dict[str, Any]]:
        listed = self.http.get("/v1/refunds").json()
        return [r for r in listed.get("data", []) if r.get("payment_intent") == intent]

    def stop(self) -> None:
        self.http.close()
        self.process.kill()
        self.process.wait(10)


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its Stripe-Signature, made the way Stripe (and localstripe) make them."""
    body = json.dumps(event).encode()
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), b"%d.%s" % (stamp, body), hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "stripe-signature": f"t={stamp},v1={signature}"}
