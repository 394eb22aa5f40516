"""The shop's payment settings (peer/settings.py): the hold time and the provider are checked at start with a
sentence naming the setting, and the Stripe keys never appear in the settings' or the services' repr."""

from __future__ import annotations

import pytest

from peer.services import stripe_keys
from peer.settings import Settings

BASE = {"ROSE_ASH_KIND": "shop", "ROSE_ASH_ADMIN_TOKEN": "an-admin-token"}
STRIPE = {
    "ROSE_ASH_PAYMENT_PROVIDER": "stripe",
    "ROSE_ASH_STRIPE_SECRET_KEY": "sk_test_secret_value_123",
    "ROSE_ASH_STRIPE_PUBLISHABLE_KEY": "pk_test_public_value_123",
    "ROSE_ASH_STRIPE_WEBHOOK_SECRET": "whsec_secret_value_123",
}


def test_defaults_hold_fifteen_minutes_and_pay_manually() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.hold_minutes, settings.payment_provider) == (15.0, "manual")
    assert settings.waitlist_offer_minutes == 30.0
    assert stripe_keys(settings) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROSE_ASH_HOLD_MINUTES": "soon"}, "ROSE_ASH_HOLD_MINUTES must be a number of minutes"),
        ({"ROSE_ASH_HOLD_MINUTES": "-5"}, "ROSE_ASH_HOLD_MINUTES must be a positive number of minutes"),
        ({"ROSE_ASH_HOLD_MINUTES": "20000"}, "at most a week"),
        ({"ROSE_ASH_WAITLIST_OFFER_MINUTES": "later"}, "ROSE_ASH_WAITLIST_OFFER_MINUTES must be a number of minutes"),
        ({"ROSE_ASH_WAITLIST_OFFER_MINUTES": "20000"}, "ROSE_ASH_WAITLIST_OFFER_MINUTES must be more than 0 and at most"),
        ({"ROSE_ASH_PAYMENT_PROVIDER": "paypal"}, "ROSE_ASH_PAYMENT_PROVIDER must be one of manual, stripe"),
        ({"ROSE_ASH_PAYMENT_PROVIDER": "stripe"}, "the stripe provider needs ROSE_ASH_STRIPE_SECRET_KEY"),
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
