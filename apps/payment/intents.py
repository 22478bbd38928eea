"""The order's PaymentIntent at Stripe: made once, reused on every page load, and the card paid into it.

The flow, the same against Stripe and against localstripe (README, "Paying"):

1. The payment page (GET /payment/process/) calls `payment_start`: with the order's row locked,
   it reads `Order.stripe_id`, and only when there is none creates the PaymentIntent (amount
   from `Order.get_total_cost()` in the currency's minor units, `metadata.order_id`, card only),
   then stores the id before the lock is released. The lock, not the idempotency key, is what
   makes two page loads at once make one PaymentIntent: localstripe ignores idempotency keys, and
   Stripe keeps them for 24 hours only. That is the page's one Stripe call (a reload's is the
   retrieve): a shopper who only looks at the page costs nothing more.
2. When the shopper submits the card, the page asks for a SetupIntent (POST /payment/setup/,
   `card_setup`) and confirms the card into it (`stripe.confirmCardSetup`): the card becomes a
   PaymentMethod, or is declined there (4000 0000 0000 0002) without the PaymentIntent being
   touched, and the shopper types another card into the same form. The SetupIntent has no
   Customer: its PaymentMethod is used once, for this PaymentIntent, and a card declined at the
   charge is replaced by another one typed in (localstripe declines 0002 at the SetupIntent's
   confirm with or without one).
3. The page posts the PaymentMethod id; `payment_confirm`, again under the order's lock, sets it
   on the PaymentIntent and confirms it on the server. Neither Stripe.js's `createPaymentMethod`
   nor a confirm that names a payment_method exists in localstripe, while update-then-confirm
   works on both. A card that needs 3-D Secure leaves the PaymentIntent `requires_action`, which
   the page completes with `stripe.confirmCardPayment(client_secret)`.
4. A charge that is declined (4000 0000 0000 0341) leaves the PaymentIntent
   `requires_payment_method` with `last_payment_error`. Stripe would accept another card on it;
   localstripe refuses any further confirm. So the next payment page (or submit) cancels it at
   Stripe first and makes the order a fresh PaymentIntent (idempotency key naming the one it
   replaces): an order has at most one PaymentIntent that is not cancelled, and a cancel that
   Stripe refuses (because the payment just succeeded or is processing) stops the replacement.
   A double submit finds the PaymentIntent already confirmed and confirms nothing: never two
   charges.

Stripe is imported inside the functions that call it: this module is imported by the views,
which every web process loads at start (apps/payment/stripe_api.py says why that matters).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.orders.models import Order, OrderStatus
from apps.payment.money import from_minor_units, to_minor_units
from apps.payment.stripe_api import stripe_client

logger = logging.getLogger(__name__)

# The shop's own sentences for the usual reasons a charge fails (Stripe's decline_code or code),
# so that a Korean page does not show Stripe's English; the English ones are Stripe's words.
_FAILURE_MESSAGES = {
    "card_declined": _("Your card was declined."),
    "insufficient_funds": _("Your card has insufficient funds."),
    "expired_card": _("Your card has expired."),
    "incorrect_cvc": _("Your card's security code is incorrect."),
    "processing_error": _("An error occurred while processing your card. Try again in a little bit."),
}

# PaymentIntent statuses in which a card may still be given and confirmed.
AWAITING_CARD = frozenset({"requires_payment_method", "requires_confirmation"})


class PaymentError(Exception):
    """Base of what a payment view turns into a message."""


class OrderNotPayableError(PaymentError):
    """The order is paid, shipped, cancelled or refunded, or its PaymentIntent was cancelled."""

    def __init__(self, order_id: int, status: str):
        self.order_id, self.status = order_id, status
        super().__init__(f"Order {order_id} is {status}: it cannot be paid.")


class CardNotUsableError(PaymentError):
    """Stripe refused the PaymentMethod the page sent (unknown, or already used)."""


class PaymentProviderError(PaymentError):
    """Stripe did not answer, or answered with an error of its own: nothing was charged by us."""


@dataclass(frozen=True)
class PaymentIntentState:
    """What the pages show of a PaymentIntent, as Stripe reported it."""

    id: str
    status: str  # Stripe's PaymentIntent status
    client_secret: str
    amount: Decimal
    currency: str
    # Stripe's message for the last failed attempt ("Your card was declined."), if any.
    error_message: str = ""

    @property
    def outcome(self) -> str:
        """paid, processing, failed, action (3-D Secure), card (waiting for one) or cancelled."""
        if self.status == "succeeded":
            return "paid"
        if self.status in ("processing", "requires_capture"):
            return "processing"
        if self.status == "requires_action":
            return "action"
        if self.status == "canceled":
            return "cancelled"
        if self.error_message:
            return "failed"
        return "card"

    @classmethod
    def of(cls, intent: Mapping) -> PaymentIntentState:
        """From a PaymentIntent as the API returns it (a dict: the SDK's to_dict(), or recorded JSON)."""
        error = intent.get("last_payment_error") or {}
        currency = intent["currency"]
        return cls(
            id=intent["id"],
            status=intent["status"],
            client_secret=intent["client_secret"],
            amount=from_minor_units(intent["amount"], currency),
            currency=currency,
            error_message=_failure_message(error) if error else "",
        )


def _failure_message(error: Mapping) -> str:
    """What the pages say of a failed charge: the shop's sentence in the page's language for the
    usual reasons, else Stripe's own message (English), else that the payment failed."""
    for reason in (error.get("decline_code"), error.get("code")):
        if reason in _FAILURE_MESSAGES:
            return str(_FAILURE_MESSAGES[reason])
    return error.get("message") or gettext("Your payment failed.")


def payment_start(*, order: Order) -> PaymentIntentState:
    """The order's PaymentIntent, created the first time and reused after (see the module's docstring).

    `order` is the one the page shows, with its items (selectors.order_with_items): its amount
    is theirs, and its status and PaymentIntent id are read again under the row lock. (Should
    staff change its items meanwhile, `payment_confirm` charges what they are when it pays.)
    Raises OrderNotPayableError for an order that is not awaiting payment, PaymentProviderError
    when Stripe fails.
    """
    with _stripe_errors():
        with transaction.atomic():
            locked = Order.objects.select_for_update().values_list("status", "stripe_id").get(id=order.id)
            order.status, order.stripe_id = locked
            intent = _payable_intent(_awaiting_payment(order))
    return PaymentIntentState.of(intent)


def card_setup(*, order_id: int) -> str:
    """The client secret of a new SetupIntent, which the card form confirms the card into.

    No lock and nothing stored: a SetupIntent charges nothing, and two of them (two tabs, a
    second try) are harmless; what pays is `payment_confirm`, under the order's lock. Raises
    OrderNotPayableError for an order that is not awaiting payment, PaymentProviderError when
    Stripe fails.
    """
    status = Order.objects.filter(id=order_id).values_list("status", flat=True).first()
    if status != OrderStatus.AWAITING_PAYMENT:
        raise OrderNotPayableError(order_id, status or "unknown")
    with _stripe_errors():
        setup = stripe_client().v1.setup_intents.create(params={
            "usage": "on_session",
            "payment_method_types": ["card"],
            "metadata": {"order_id": str(order_id)},
        })
    return setup.client_secret


def payment_confirm(*, order_id: int, payment_method: str) -> PaymentIntentState:
    """Pay the order's PaymentIntent with `payment_method` (a "pm_…" the card form made).

    Under the order's lock, so that two submits (a double click, two tabs) confirm once: the
    second finds the PaymentIntent no longer waiting for a card and confirms nothing. A declined
    card is not an exception: the state says failed, with Stripe's message.
    """
    import stripe

    client = stripe_client()
    refused = None
    with _stripe_errors():
        with transaction.atomic():
            order = _locked_awaiting_payment(order_id)
            intent = _payable_intent(order)
            if intent["status"] not in AWAITING_CARD:
                return PaymentIntentState.of(intent)
            try:
                client.v1.payment_intents.update(intent["id"], params={"payment_method": payment_method})
                intent = client.v1.payment_intents.confirm(intent["id"]).to_dict()
            except stripe.CardError as declined:
                logger.info("order %s: card declined (%s)", order_id, declined.code)
                # The PaymentIntent now says why; the next page load replaces it.
                intent = client.v1.payment_intents.retrieve(intent["id"]).to_dict()
            except stripe.InvalidRequestError as error:
                # No such PaymentMethod, or one used already. Raised after the transaction,
                # which keeps a replacement PaymentIntent's id.
                refused = error
    if refused is not None:
        raise CardNotUsableError(gettext("This card cannot be used.")) from refused
    return PaymentIntentState.of(intent)


def payment_state(*, order_id: int) -> PaymentIntentState | None:
    """The order's PaymentIntent as Stripe has it now (None before the payment page made one)."""
    stripe_id = Order.objects.filter(id=order_id).values_list("stripe_id", flat=True).first()
    if not stripe_id:
        return None
    with _stripe_errors():
        return PaymentIntentState.of(stripe_client().v1.payment_intents.retrieve(stripe_id).to_dict())


# --- Internals ---------------------------------------------------------------------------------


def _locked_awaiting_payment(order_id: int) -> Order:
    return _awaiting_payment(Order.objects.select_for_update().get(id=order_id))


def _awaiting_payment(order: Order) -> Order:
    if order.status != OrderStatus.AWAITING_PAYMENT:
        raise OrderNotPayableError(order.id, order.get_status_display().lower())
    return order


def _payable_intent(order: Order) -> dict:
    """The order's PaymentIntent (as a dict), made when it has none, replaced after a failed
    charge. The caller holds the order's row lock."""
    import stripe

    client = stripe_client()
    currency = settings.SHOP_CURRENCY
    amount = to_minor_units(order.get_total_cost(), currency)
    if order.stripe_id:
        try:
            intent = client.v1.payment_intents.retrieve(order.stripe_id).to_dict()
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise
            # Only localstripe forgets (a restart of `make run`): nothing can be charged on it.
            logger.warning("order %s: PaymentIntent %s is unknown to Stripe, making another",
                           order.id, order.stripe_id)
            intent = None
        if intent is not None:
            failed = intent["status"] == "requires_payment_method" and intent.get("last_payment_error")
            if intent["status"] == "canceled":
                # Cancelled at Stripe by the expiry sweep (it cancels the order next), never by
                # this module after it stored a replacement: the order cannot be paid any more.
                raise OrderNotPayableError(order.id, "expired")
            if not failed:
                if intent["status"] in AWAITING_CARD and intent["amount"] != amount:
                    params = {"amount": amount}
                    intent = client.v1.payment_intents.update(intent["id"], params=params).to_dict()
                return intent
            try:
                client.v1.payment_intents.cancel(intent["id"])
            except stripe.InvalidRequestError:
                # Stripe refuses to cancel a payment that succeeded or is processing: keep it.
                intent = client.v1.payment_intents.retrieve(intent["id"]).to_dict()
                if intent["status"] == "canceled":
                    raise OrderNotPayableError(order.id, "expired") from None
                return intent
        key = f"order-{order.id}-payment-intent-after-{order.stripe_id}"
    else:
        key = f"order-{order.id}-payment-intent"
    intent = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency,
            # Cards only: a server-side confirm then needs no return_url for redirect methods.
            "payment_method_types": ["card"],
            "metadata": {"order_id": str(order.id)},
        },
        options={"idempotency_key": key},
    ).to_dict()
    order.stripe_id = intent["id"]
    order.save(update_fields=["stripe_id", "updated"])
    return intent


class _stripe_errors:
    """Stripe's own failures (no answer, 5xx, a bad key) as PaymentProviderError, logged once."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, PaymentError):
            return False
        import stripe

        if isinstance(error, stripe.StripeError):
            logger.warning("Stripe failed: %s: %s", type(error).__name__, error)
            text = gettext("The payment service did not answer. Nothing was charged.")
            raise PaymentProviderError(text) from error
        return False
