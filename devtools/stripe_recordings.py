"""Record the Stripe objects the payment code reads, as the pinned API version returns them.

    .venv/bin/python -m devtools.stripe_recordings   # rewrites test_data/stripe/*.json

Starts a localstripe of its own, makes each object through the SDK (the shop's configured
client, so with STRIPE_API_VERSION), and writes it as JSON. The tests read them where a
recorded object is enough (apps/payment/tests/test_payment_intent_state.py): how a page reads a
PaymentIntent, without a server.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "test_data" / "stripe"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_project.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.test import override_settings

    from apps.payment.stripe_api import stripe_client
    from apps.payment.tests.cards import DECLINED_AT_CHARGE, VISA, card_into_setup_intent
    from devtools.localstripe import PUBLISHABLE_KEY, SECRET_KEY, localstripe_server

    with localstripe_server() as server, override_settings(
        STRIPE_API_BASE=server.api_base, STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY
    ):
        client = stripe_client()

        # As apps/payment/intents.py makes them: no Customer, the SetupIntent's card used once.
        def intent_paid_with(number: str) -> tuple:
            intent = client.v1.payment_intents.create(params={
                "amount": 3980, "currency": "usd",
                "payment_method_types": ["card"], "metadata": {"order_id": "7"}})
            setup = client.v1.setup_intents.create(params={
                "usage": "on_session", "payment_method_types": ["card"],
                "metadata": {"order_id": "7"}})
            method = card_into_setup_intent(server, setup.client_secret, number)
            client.v1.payment_intents.update(intent.id, params={"payment_method": method})
            try:
                client.v1.payment_intents.confirm(intent.id)
            except Exception:  # noqa: BLE001 - the declined card's CardError is the point
                pass
            return (client.v1.payment_intents.retrieve(intent.id), client.v1.setup_intents.retrieve(setup.id),
                    client.v1.payment_methods.retrieve(method))

        paid, setup, method = intent_paid_with(VISA)
        declined, _, _ = intent_paid_with(DECLINED_AT_CHARGE)
        sepa = client.v1.payment_methods.create(
            params={"type": "sepa_debit", "sepa_debit": {"iban": "DE62370400440532013001"}})
        processing = client.v1.payment_intents.create(params={
            "amount": 3980, "currency": "eur", "payment_method": sepa.id,
            "payment_method_types": ["sepa_debit"], "confirm": True, "metadata": {"order_id": "7"}})
        fresh = client.v1.payment_intents.create(params={
            "amount": 15000, "currency": "krw",
            "payment_method_types": ["card"], "metadata": {"order_id": "8"}})
        recorded = {
            "payment_intent_succeeded": paid,
            "payment_intent_declined": declined,
            "payment_intent_processing": processing,
            "payment_intent_requires_payment_method_krw": fresh,
            "setup_intent_succeeded": setup,
            "payment_method_card": method,
        }
        FOLDER.mkdir(parents=True, exist_ok=True)
        for name, obj in recorded.items():
            values = obj.to_dict(for_json=True)
            values["_recorded"] = {"api_version": settings.STRIPE_API_VERSION,
                                   "server": "localstripe 1.15.10", "date": time.strftime("%Y-%m-%d")}
            (FOLDER / f"{name}.json").write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
            print(f"wrote test_data/stripe/{name}.json")


if __name__ == "__main__":
    main()
