"""Writes of the orders app: turning a cart into an order, and confirming it by e-mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.cart.cart import Cart
from apps.orders.emails import order_confirmation_message
from apps.orders.models import ConfirmationStatus, Order, OrderItem
from apps.shop.models import Product

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Customer:
    first_name: str
    last_name: str
    email: str
    address: str
    postal_code: str
    city: str


class CheckoutError(Exception):
    """Checkout cannot go ahead; the message is meant for the shopper."""


class EmptyCartError(CheckoutError):
    def __init__(self):
        super().__init__("Your cart is empty.")


class ProductsUnavailableError(CheckoutError):
    def __init__(self, names: list[str]):
        self.names = names
        listed = ", ".join(names) if names else "A product in your cart"
        super().__init__(f"{listed} can no longer be bought. Please review your cart.")


class OutOfStockError(CheckoutError):
    def __init__(self, shortages: list[tuple[Product, int]]):
        self.shortages = shortages
        parts = [f"{product.name} (only {product.stock} left, you asked for {wanted})"
                 for product, wanted in shortages]
        super().__init__("Not enough stock for " + "; ".join(parts) + ".")


def order_create(*, cart: Cart, customer: Customer) -> Order:
    """Place the order for what the cart holds, at today's prices, and take the stock.

    One transaction: the products' rows are locked in id order (so that concurrent checkouts
    queue instead of deadlocking or overselling), stock is checked, the order and its items are
    written and the stock is taken. Nothing is written if any of that fails. The cart is
    cleared only once the order exists; a second submission of the same cart returns the
    order the first one made.
    """
    quantities = cart.quantities()
    if not quantities:
        raise EmptyCartError()
    try:
        with transaction.atomic():
            order = _place_order(quantities=quantities, cart_token=cart.token, customer=customer)
    except IntegrityError:
        # The cart token is the only unique value an order writes, and its constraint is the
        # last guard: should a concurrent submission of this cart get past the check in
        # _place_order (a database without row locks), the shopper is shown the order it made.
        order = Order.objects.filter(cart_token=cart.token).first()
        if order is None:
            raise
    cart.clear()
    return order


def _place_order(*, quantities: dict[int, int], cart_token, customer: Customer) -> Order:
    products = list(
        Product.objects.select_for_update().filter(id__in=quantities).order_by("id")
    )
    # Holding the locks, a concurrent submission of this same cart has either committed its
    # order or not started: if it has, that order is the answer (its stock is already taken).
    already_placed = Order.objects.filter(cart_token=cart_token).first() if cart_token else None
    if already_placed is not None:
        return already_placed
    found = {product.id for product in products}
    gone = [product.name for product in products if not product.available]
    if gone or len(found) != len(quantities):
        raise ProductsUnavailableError(gone)
    shortages = [(p, quantities[p.id]) for p in products if p.stock < quantities[p.id]]
    if shortages:
        raise OutOfStockError(shortages)

    order = Order.objects.create(cart_token=cart_token, **customer.__dict__)
    OrderItem.objects.bulk_create(
        OrderItem(order=order, product=product, price=product.price, quantity=quantities[product.id])
        for product in products
    )
    for product in products:
        product.stock -= quantities[product.id]
    Product.objects.bulk_update(products, ["stock"])
    # Published only once the order is committed, so no worker can look for it too early.
    transaction.on_commit(lambda: order_confirmation_publish(order_id=order.id))
    return order


# Confirmation e-mail ------------------------------------------------------------------------

# Publishing happens inside the checkout request: a broker that is down may cost it this much
# and no more (with CELERY_BROKER_CONNECTION_TIMEOUT per attempt); the sweep publishes later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.1, "interval_max": 0.2}

# A worker that claimed a confirmation and then vanished (killed, timed out) leaves it in
# SENDING; after this long another worker may claim it again.
CONFIRMATION_CLAIM_LEASE = timedelta(minutes=15)


class ConfirmationNotSentError(Exception):
    """Sending failed in a way worth retrying; the claim was released for the retry."""


class ConfirmationGivenUpError(Exception):
    """The order's confirmation failed for good. Its message keeps failing, so that the queue's
    dead-letter policy takes it (a message that succeeded would just be deleted)."""


def order_confirmation_publish(*, order_id: int) -> bool:
    """Queue the confirmation task; False (and the order stays PENDING) when the broker is away."""
    # Imported here: the tasks module imports this one.
    from apps.orders.tasks import order_created

    try:
        order_created.apply_async(args=[order_id], retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:
        # Whatever the transport raises, the order is kept; the sweep publishes it later.
        logger.warning("confirmation of order %s not queued: broker unreachable", order_id, exc_info=True)
        return False
    Order.objects.filter(id=order_id, confirmation_status=ConfirmationStatus.PENDING).update(
        confirmation_status=ConfirmationStatus.QUEUED
    )
    return True


def order_confirmation_send(*, order_id: int) -> bool:
    """Send the order's confirmation unless it is sent or being sent; True if this call sent it.

    Exactly one e-mail per order however often the message is delivered: the send is first
    claimed with one conditional UPDATE, which only one worker can win.
    """
    now = timezone.now()
    claimable = Q(confirmation_status__in=[ConfirmationStatus.PENDING, ConfirmationStatus.QUEUED]) | Q(
        confirmation_status=ConfirmationStatus.SENDING,
        confirmation_claimed_at__lt=now - CONFIRMATION_CLAIM_LEASE,
    )
    claimed = Order.objects.filter(claimable, id=order_id).update(
        confirmation_status=ConfirmationStatus.SENDING,
        confirmation_claimed_at=now,
        confirmation_attempts=F("confirmation_attempts") + 1,
    )
    if not claimed:
        status = Order.objects.filter(id=order_id).values_list("confirmation_status", flat=True).first()
        if status == ConfirmationStatus.FAILED:
            raise ConfirmationGivenUpError(f"the confirmation of order {order_id} failed for good")
        logger.info("order %s: confirmation already sent or being sent, or no such order", order_id)
        return False
    order = Order.objects.prefetch_related("items__product").get(id=order_id)
    try:
        order_confirmation_message(order=order).send()
    except Exception as error:
        # SMTP, SES and network failures all look alike from here: release the claim so the
        # retry can take it again.
        _confirmation_update(order_id, ConfirmationStatus.QUEUED, error=_describe(error))
        raise ConfirmationNotSentError(_describe(error)) from error
    _confirmation_update(order_id, ConfirmationStatus.SENT, sent_at=timezone.now(), error="")
    return True


def order_confirmation_give_up(*, order_id: int, error: str) -> None:
    """Retries are exhausted: show the failure on the order; the message goes to the DLQ."""
    _confirmation_update(order_id, ConfirmationStatus.FAILED, error=error)


def order_confirmations_resend(*, order_ids: list[int]) -> int:
    """Staff ask again for confirmations that failed; returns how many were queued."""
    failed = Order.objects.filter(id__in=order_ids, confirmation_status=ConfirmationStatus.FAILED)
    to_resend = list(failed.values_list("id", flat=True))
    Order.objects.filter(id__in=to_resend).update(confirmation_status=ConfirmationStatus.PENDING)
    return sum(order_confirmation_publish(order_id=order_id) for order_id in to_resend)


def confirmations_publish_overdue(*, min_age_seconds: int) -> int:
    """Publish again the confirmations of orders older than min_age_seconds not sent yet.

    Catches what checkout could not queue (broker down) and what a lost message or a vanished
    worker left behind. Returns how many were published.
    """
    now = timezone.now()
    overdue = (
        Order.objects.filter(created__lt=now - timedelta(seconds=min_age_seconds))
        .filter(
            Q(confirmation_status__in=[ConfirmationStatus.PENDING, ConfirmationStatus.QUEUED])
            | Q(
                confirmation_status=ConfirmationStatus.SENDING,
                confirmation_claimed_at__lt=now - CONFIRMATION_CLAIM_LEASE,
            )
        )
        .values_list("id", flat=True)
    )
    published = 0
    for order_id in overdue:
        if not order_confirmation_publish(order_id=order_id):
            break  # The broker is away: the next sweep tries again, rather than every order now.
        published += 1
    return published


def _confirmation_update(order_id: int, status: str, **fields) -> None:
    Order.objects.filter(id=order_id).update(
        confirmation_status=status,
        **{f"confirmation_{name}": value for name, value in fields.items()},
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
