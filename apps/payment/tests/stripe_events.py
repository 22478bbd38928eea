"""Stripe events for the tests: recorded ones given the test's ids, signed as Stripe signs them,
and posted to the webhook; PaymentIntents paid at localstripe and the events it lists for them."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import stripe
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.orders.models import Order
from apps.payment.services import expected_amount
from apps.payment.stripe_api import stripe_client

RECORDED = Path(settings.BASE_DIR) / "test_data" / "stripe"
WEBHOOK_URL = reverse("payment_webhook")


def recorded(name: str) -> dict:
    """A recorded payload of test_data/stripe/ (a fresh copy each time)."""
    return json.loads((RECORDED / f"{name}.json").read_text())


def signature(body: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send with `body`, by the SDK's own HMAC scheme."""
    return stripe.WebhookSignature.generate_signature_header(
        body, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp or int(time.time())
    )


def deliver(client: Client, event: dict | str | bytes, *, secret: str | None = None, timestamp=None,
            header: str | None = None):
    """POST `event` to the webhook as Stripe does: JSON, signed (unless `header` says otherwise)."""
    body = event if isinstance(event, str | bytes) else json.dumps(event)
    if header is None:
        text = body if isinstance(body, str) else body.decode()
        header = signature(text, secret=secret, timestamp=timestamp)
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def intent_event(name: str, order: Order, *, intent_id: str = "pi_test_0001", event_id: str | None = None,
                 amount: int | None = None, currency: str | None = None) -> dict:
    """The recorded `name` event (payment_intent.…) about `order`: its id, amount and currency."""
    event = recorded(name)
    intent = event["data"]["object"]
    intent.update(id=intent_id, metadata={"order_id": str(order.id)},
                  amount=expected_amount(order) if amount is None else amount,
                  currency=currency or settings.SHOP_CURRENCY)
    event["id"] = event_id or f"evt_{name.replace('.', '_')}_{order.id}_{intent_id}"
    return event


def charge_refunded_event(order: Order, *, amount_refunded: int | None = None,
                          intent_id: str | None = None) -> dict:
    """The recorded charge.refunded of the order's payment (its PaymentIntent as stored)."""
    event = recorded("charge.refunded")
    charge = event["data"]["object"]
    total = expected_amount(order)
    intent_id = intent_id or Order.objects.values_list("stripe_id", flat=True).get(id=order.id)
    charge.update(payment_intent=intent_id, amount=total, amount_captured=total,
                  amount_refunded=total if amount_refunded is None else amount_refunded)
    event["id"] = f"evt_charge_refunded_{order.id}_{charge['amount_refunded']}"
    return event


def paid_intent(order: Order, *, amount: int | None = None):
    """A PaymentIntent for `order` paid at localstripe with a test card, its id on the order (as
    the payment page stores it)."""
    intent = stripe_client().v1.payment_intents.create(params={
        "amount": expected_amount(order) if amount is None else amount, "currency": settings.SHOP_CURRENCY,
        "metadata": {"order_id": str(order.id)}, "payment_method": "pm_card_visa", "confirm": True,
    })
    assert intent.status == "succeeded", intent.status
    return intent


def open_intent(order: Order):
    """A PaymentIntent for `order` that nobody paid yet, its id stored on the order."""
    intent = stripe_client().v1.payment_intents.create(params={
        "amount": expected_amount(order), "currency": settings.SHOP_CURRENCY,
        "metadata": {"order_id": str(order.id)},
    })
    Order.objects.filter(id=order.id).update(stripe_id=intent.id)
    return intent


def localstripe_event(event_type: str, intent_id: str) -> dict:
    """The event localstripe made of `event_type` for the PaymentIntent (GET /v1/events)."""
    events = stripe_client().v1.events.list(params={"type": event_type, "limit": 100})
    found = [event.to_dict() for event in events.data if event.data.object.id == intent_id]
    assert len(found) == 1, f"{len(found)} {event_type} events for {intent_id}"
    return copy.deepcopy(found[0])
