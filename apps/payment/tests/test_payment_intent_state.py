"""How the pages read a PaymentIntent, from objects recorded from localstripe (test_data/stripe/,
devtools/stripe_recordings.py) with the pinned API version."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from apps.payment.intents import PaymentIntentState

RECORDED = Path(settings.BASE_DIR) / "test_data" / "stripe"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


class TestPaymentIntentState:
    @pytest.mark.parametrize(("name", "outcome"), [
        ("payment_intent_succeeded", "paid"),
        ("payment_intent_processing", "processing"),
        ("payment_intent_declined", "failed"),
        ("payment_intent_requires_payment_method_krw", "card"),
    ])
    def test_each_recorded_state_is_what_the_page_says(self, name, outcome):
        assert PaymentIntentState.of(recorded(name)).outcome == outcome

    def test_a_declined_payment_carries_stripes_message(self):
        state = PaymentIntentState.of(recorded("payment_intent_declined"))

        assert state.error_message == "Your card was declined."
        assert (state.amount, state.currency) == (Decimal("39.80"), "usd")

    def test_a_zero_decimal_amount_reads_back_in_whole_units(self):
        state = PaymentIntentState.of(recorded("payment_intent_requires_payment_method_krw"))

        assert (state.amount, state.currency) == (Decimal("15000"), "krw")

    def test_the_recordings_are_of_the_pinned_api_version_and_the_objects_the_flow_uses(self):
        setup, method = recorded("setup_intent_succeeded"), recorded("payment_method_card")
        paid = recorded("payment_intent_succeeded")

        assert {recorded(name)["_recorded"]["api_version"] for name in (
            "setup_intent_succeeded", "payment_method_card", "payment_intent_succeeded")} == {
            settings.STRIPE_API_VERSION}
        # The card set up into the SetupIntent is the PaymentMethod the PaymentIntent was paid with.
        assert setup["status"] == "succeeded"
        assert setup["payment_method"] == method["id"] == paid["payment_method"]
        assert setup["customer"] is paid["customer"] is None  # no Customer: the card is used once
        assert (method["type"], method["card"]["last4"]) == ("card", "4242")
        assert paid["metadata"] == {"order_id": "7"}
