"""The shop's payment settings (peer/settings.py): the hold time and the provider are checked at start with a
sentence naming the setting (a shop started with bad ones says so in one line and exits non-zero), and the Stripe
and SumUp keys never appear in the settings' or the services' repr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from peer.services import stripe_keys, sumup_keys
from peer.settings import Settings

BASE = {"ROSE_ASH_KIND": "shop", "ROSE_ASH_ADMIN_TOKEN": "an-admin-token"}
STRIPE = {
    "ROSE_ASH_PAYMENT_PROVIDER": "stripe",
    "ROSE_ASH_STRIPE_SECRET_KEY": "sk_test_secret_value_123",
    "ROSE_ASH_STRIPE_PUBLISHABLE_KEY": "pk_test_public_value_123",
    "ROSE_ASH_STRIPE_WEBHOOK_SECRET": "whsec_secret_value_123",
}

SUMUP = {
    "ROSE_ASH_PAYMENT_PROVIDER": "sumup",
    "ROSE_ASH_SUMUP_API_KEY": "sup_sk_secret_value_123",
    "ROSE_ASH_SUMUP_MERCHANT_CODE": "MCODE123",
}


def test_defaults_hold_fifteen_minutes_and_pay_manually() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.hold_minutes, settings.payment_provider) == (15.0, "manual")
    assert settings.waitlist_offer_minutes == 30.0
    assert stripe_keys(settings) is None and sumup_keys(settings) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROSE_ASH_HOLD_MINUTES": "soon"}, "ROSE_ASH_HOLD_MINUTES must be a number of minutes"),
        ({"ROSE_ASH_HOLD_MINUTES": "-5"}, "ROSE_ASH_HOLD_MINUTES must be a positive number of minutes"),
        ({"ROSE_ASH_HOLD_MINUTES": "20000"}, "at most a week"),
        ({"ROSE_ASH_WAITLIST_OFFER_MINUTES": "later"}, "ROSE_ASH_WAITLIST_OFFER_MINUTES must be a number of minutes"),
        ({"ROSE_ASH_WAITLIST_OFFER_MINUTES": "20000"}, "ROSE_ASH_WAITLIST_OFFER_MINUTES must be more than 0 and at most"),
        ({"ROSE_ASH_PAYMENT_PROVIDER": "paypal"}, "ROSE_ASH_PAYMENT_PROVIDER must be one of manual, stripe, sumup"),
        ({"ROSE_ASH_PAYMENT_PROVIDER": "stripe"}, "the stripe provider needs ROSE_ASH_STRIPE_SECRET_KEY"),
        ({"ROSE_ASH_PAYMENT_PROVIDER": "sumup"}, "the sumup provider needs ROSE_ASH_SUMUP_API_KEY and "),
        ({**SUMUP, "ROSE_ASH_SUMUP_MERCHANT_CODE": " "}, "ROSE_ASH_SUMUP_MERCHANT_CODE"),
        ({**SUMUP, "ROSE_ASH_SUMUP_API_BASE": "api.sumup.com"}, "ROSE_ASH_SUMUP_API_BASE must start with http"),
    ],
)
def test_bad_payment_settings_are_refused_with_a_sentence(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({**BASE, **env})


def test_the_stripe_secrets_are_never_in_a_repr() -> None:
    settings = Settings.from_env({**BASE, **STRIPE})
    keys = stripe_keys(settings)
    assert keys is not None and keys.secret_key == STRIPE["ROSE_ASH_STRIPE_SECRET_KEY"]
    for shown in (repr(settings), repr(keys)):
        assert "sk_test_secret_value_123" not in shown and "whsec_secret_value_123" not in shown
    assert "pk_test_public_value_123" in repr(keys)  # the publishable key is public: the checkout page shows it


def test_the_sumup_key_is_never_in_a_repr() -> None:
    settings = Settings.from_env({**BASE, **SUMUP})
    keys = sumup_keys(settings)
    assert keys is not None and keys.api_key == SUMUP["ROSE_ASH_SUMUP_API_KEY"]
    assert keys.api_base == "https://api.sumup.com"
    for shown in (repr(settings), repr(keys)):
        assert "sup_sk_secret_value_123" not in shown
    assert "MCODE123" in repr(keys)


@pytest.mark.parametrize("missing", ["ROSE_ASH_SUMUP_API_KEY", "ROSE_ASH_SUMUP_MERCHANT_CODE"])
def test_a_shop_started_for_sumup_without_its_keys_says_so_and_stops(tmp_path: Path, missing: str) -> None:
    env = {**BASE, **SUMUP, "PATH": "/usr/bin:/bin", "ROSE_ASH_DATA_DIR": str(tmp_path)}
    del env[missing]
    done = subprocess.run(
        [sys.executable, "-m", "peer.cli", "serve", "--kind", "shop", "--port", "1"],
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "rose-ash serve: the sumup provider needs ROSE_ASH_SUMUP_API_KEY and ROSE_ASH_SUMUP_MERCHANT_CODE"
    ], done.stderr
    assert "sup_sk_secret_value_123" not in done.stderr + done.stdout
