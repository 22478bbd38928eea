"""Where an order's payment stands, and the only code that moves it: paid, failed, refunded,
shipped, expired, and a payment that arrives after its order was cancelled.

Every transition locks the order's row (select_for_update), checks the status it starts from
and writes in one transaction, so two deliveries, two sweeps or a sweep and a webhook at once
give one effect. Status only moves forward: awaiting payment -> paid -> shipped, awaiting
payment -> cancelled, paid or shipped -> refunded (and a late payment of a cancelled order ->
paid, or refunded when its stock is gone). Locks are taken order first, then products in id
order, then the coupon, as checkout takes products and coupon: no two of these can deadlock.

Stripe is called while the order's lock is held only to refund (with an idempotency key), so
that no other refund of the same order can start meanwhile: localstripe ignores idempotency
keys and takes a second full refund, and the shop's own guard (stripe_refund_id, under the
lock) is what makes a refund happen once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.coupons.services import coupon_use_retake
from apps.orders.models import Order, OrderStatus
from apps.payment.models import StripeEvent
from apps.payment.money import to_minor_units
from apps.payment.signals import order_cancelled, order_paid
from apps.shop.catalog_cache import catalog_stock_changed
from apps.shop.models import Product

logger = logging.getLogger(__name__)

# Statuses in which the shop holds the shopper's money for the order.
_PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED)


class RefundRefusedError(Exception):
    """Staff asked to refund an order that cannot be refunded (its str() says why)."""


@dataclass(frozen=True)
class Payment:
    """What Stripe says was paid: a PaymentIntent's id, amount (minor units) and currency."""

    payment_intent_id: str
    amount: int
    currency: str


def expected_amount(order: Order) -> int:
    """What the order costs, in the minor units of the shop's currency: what must be paid."""
    return to_minor_units(order.get_total_cost(), settings.SHOP_CURRENCY)


# Stripe events ------------------------------------------------------------------------------


def stripe_event_handle(*, event_id: str, event_type: str, data_object: dict) -> str:
    """Apply one Stripe event, once: what was done ("duplicate" for a delivery seen before).

    The event's id is recorded in the transaction that applies it. A delivery of the same event
    running at the same time waits on the unique index until this one commits, and is then a
    duplicate; if this one fails (and rolls back), the next delivery applies it.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = StripeEvent.objects.create(event_id=event_id, type=event_type)
        except IntegrityError:
            logger.info("Stripe event %s (%s) seen before: nothing to do", event_id, event_type)
            return "duplicate"
        handler = _EVENT_HANDLERS.get(event_type)
        order_id, outcome = handler(data_object) if handler else (None, "ignored")
        event.order_id, event.outcome = order_id, outcome[:200]
        event.save(update_fields=["order_id", "outcome"])
        return outcome


def _order_id_from_metadata(intent: dict) -> int | None:
    raw = (intent.get("metadata") or {}).get("order_id")
    try:
        order_id = int(raw)
    except (TypeError, ValueError):
        return None
    return order_id if 0 < order_id < 2**63 else None


def _payment_intent_succeeded(intent: dict) -> tuple[int | None, str]:
    order_id = _order_id_from_metadata(intent)
    payment = _payment_of(intent)
    if order_id is None or payment is None:
        logger.warning("payment_intent.succeeded for %s names no order of this shop", intent.get("id"))
        return None, "no such order"
    return order_id, payment_succeeded(order_id=order_id, payment=payment)


def _payment_intent_failed(intent: dict) -> tuple[int | None, str]:
    order_id = _order_id_from_metadata(intent)
    if order_id is None:
        logger.warning("payment_intent.payment_failed for %s names no order of this shop", intent.get("id"))
        return None, "no such order"
    error = intent.get("last_payment_error") or {}
    return order_id, payment_failed(
        order_id=order_id, payment_intent_id=str(intent.get("id") or ""),
        code=str(error.get("decline_code") or error.get("code") or ""),
        message=str(error.get("message") or ""),
    )


def _charge_refunded(charge: dict) -> tuple[int | None, str]:
    intent_id = charge.get("payment_intent")
    order = Order.objects.filter(stripe_id=intent_id).only("id").first() if intent_id else None
    if order is None:
        logger.warning("charge.refunded for %s (%s) names no order of this shop", charge.get("id"), intent_id)
        return None, "no such order"
    refunds = (charge.get("refunds") or {}).get("data") or []
    try:
        amount, refunded = int(charge["amount"]), int(charge["amount_refunded"])
    except (KeyError, TypeError, ValueError):
        logger.warning("charge.refunded for %s without its amounts", charge.get("id"))
        return order.id, "unreadable"
    return order.id, refund_recorded(
        order_id=order.id, payment_intent_id=intent_id,
        refund_id=str(refunds[0].get("id", "")) if refunds else "", full=refunded >= amount,
    )


def _payment_of(intent: dict) -> Payment | None:
    try:
        return Payment(str(intent["id"]), int(intent["amount"]), str(intent["currency"]).lower())
    except (KeyError, TypeError, ValueError):
        return None


_EVENT_HANDLERS = {
    "payment_intent.succeeded": _payment_intent_succeeded,
    "payment_intent.payment_failed": _payment_intent_failed,
    "charge.refunded": _charge_refunded,
}


# Transitions --------------------------------------------------------------------------------


def _locked_order(order_id: int) -> Order | None:
    return Order.objects.select_for_update().filter(id=order_id).first()


def payment_succeeded(*, order_id: int, payment: Payment) -> str:
    """Stripe took `payment` for the order: mark it paid, once, if it is what the order costs.

    A payment of another amount or currency is flagged for staff, not accepted. A second
    payment of an order already paid (another PaymentIntent) is refunded at once. A payment
    of an order the sweep cancelled takes the stock again if there is enough, and is otherwise
    refunded, and the shopper told by e-mail.
    """
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None:
            logger.warning("payment %s for order %s, which does not exist", payment.payment_intent_id,
                           order_id)
            return "no such order"
        if order.status in (*_PAID_STATUSES, OrderStatus.REFUNDED):
            if order.stripe_id == payment.payment_intent_id:
                return "already recorded"
            return _duplicate_payment_refund(order, payment)
        wanted = (expected_amount(order), settings.SHOP_CURRENCY)
        if (payment.amount, payment.currency) != wanted:
            note = (f"{payment.payment_intent_id} paid {payment.amount} {payment.currency.upper()}, "
                    f"the order costs {wanted[0]} {wanted[1].upper()}: not marked paid")
            logger.warning("order %s: %s", order.id, note)
            _flag(order, note)
            return "amount mismatch"
        if order.status == OrderStatus.AWAITING_PAYMENT:
            _mark_paid(order, payment.payment_intent_id)
            return "paid"
        # Cancelled (expired) meanwhile: its stock went back to the shelf, its coupon's use too.
        if _stock_retake(order):
            if not coupon_use_retake(order_id=order.id):
                _flag(order, f"paid late with coupon {order.coupon.code}, whose uses went to other "
                             "orders meanwhile: one order more than its maximum has its discount")
            _mark_paid(order, payment.payment_intent_id)
            logger.info("order %s: paid after it expired; its stock was taken again", order.id)
            return "paid late, stock taken again"
        order.stripe_id = payment.payment_intent_id
        _refund(order, reason="paid after it expired, and its stock was sold meanwhile")
        _late_payment_refunded_email(order.id)
        return "paid late, refunded"


def payment_failed(*, order_id: int, payment_intent_id: str, code: str, message: str) -> str:
    """An attempt to pay failed: recorded for staff; the order stays awaiting payment, payable."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None:
            logger.warning("failed payment %s for order %s, which does not exist", payment_intent_id,
                           order_id)
            return "no such order"
        if order.status != OrderStatus.AWAITING_PAYMENT:
            return f"ignored: order already {order.status}"  # a late failure changes nothing
        order.payment_failure_code, order.payment_failure_message = code[:100], message[:500]
        order.save(update_fields=["payment_failure_code", "payment_failure_message", "updated"])
        return "failure recorded"


def refund_recorded(*, order_id: int, payment_intent_id: str, refund_id: str, full: bool) -> str:
    """Stripe says the order's payment was refunded (say, from Stripe's dashboard)."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.stripe_id != payment_intent_id:
            return "no such order"
        if order.status not in _PAID_STATUSES:
            return f"ignored: order {order.status}"
        if not full:
            _flag(order, f"part of {payment_intent_id} was refunded at Stripe; the order is unchanged")
            return "partial refund flagged"
        _mark_refunded(order, refund_id)
        return "refunded"


def order_refund(*, order_id: int) -> Order:
    """Staff refund a paid or shipped order in full, once: a Stripe Refund, then the order is
    refunded, and its stock put back if it was not shipped. RefundRefusedError says why not."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None:
            raise RefundRefusedError(f"Order {order_id} does not exist.")
        if order.stripe_refund_id or order.status == OrderStatus.REFUNDED:
            raise RefundRefusedError(f"Order {order.id} is refunded already.")
        if order.status not in _PAID_STATUSES:
            raise RefundRefusedError(f"Order {order.id} is {order.get_status_display().lower()}: only paid "
                                     "or shipped orders can be refunded.")
        if not order.stripe_id:
            raise RefundRefusedError(f"Order {order.id} was not paid through Stripe: refund it by hand.")
        _refund(order, reason="refunded by staff")
        return order


def order_ship(*, order_id: int) -> bool:
    """Staff shipped a paid order: paid -> shipped, and nothing else; True if it moved."""
    return bool(Order.objects.filter(id=order_id, status=OrderStatus.PAID).update(
        status=OrderStatus.SHIPPED, updated=timezone.now()
    ))


def _mark_paid(order: Order, payment_intent_id: str) -> None:
    order.status, order.paid, order.paid_at = OrderStatus.PAID, True, timezone.now()
    order.stripe_id = payment_intent_id
    order.save(update_fields=["status", "paid", "paid_at", "stripe_id", "updated"])
    # Inside the transaction, holding the lock: sent once per order (receivers publish on commit).
    order_paid.send(sender=Order, order_id=order.id)


def _mark_refunded(order: Order, refund_id: str) -> None:
    if order.status == OrderStatus.PAID:
        _stock_put_back(order)  # not shipped: the goods are still on the shelf
    order.status, order.refunded_at, order.stripe_refund_id = OrderStatus.REFUNDED, timezone.now(), refund_id
    order.save(update_fields=["status", "refunded_at", "stripe_refund_id", "updated"])


def _refund(order: Order, *, reason: str) -> None:
    """Refund the order's PaymentIntent in full and record it; the caller holds the order's lock
    and has checked that no refund was made (stripe_refund_id is empty)."""
    refund = _stripe_refund(order.stripe_id, order_id=order.id, idempotency_key=f"order-{order.id}-refund")
    logger.info("order %s: %s; %s refunded (%s)", order.id, reason, order.stripe_id, refund.id)
    if order.status == OrderStatus.CANCELLED:
        # A late payment given back: the stock is not the order's any more, nothing goes back.
        order.status, order.refunded_at = OrderStatus.REFUNDED, timezone.now()
        order.stripe_refund_id = refund.id
        order.save(update_fields=["status", "refunded_at", "stripe_refund_id", "stripe_id", "updated"])
        return
    _mark_refunded(order, refund.id)


def _stripe_refund(payment_intent_id: str, *, order_id: int, idempotency_key: str):
    from apps.payment.stripe_api import stripe_client

    return stripe_client().v1.refunds.create(
        params={"payment_intent": payment_intent_id, "metadata": {"order_id": str(order_id)}},
        options={"idempotency_key": idempotency_key},
    )


def _duplicate_payment_refund(order: Order, payment: Payment) -> str:
    """A second PaymentIntent paid for an order already paid: the shopper is charged once."""
    refund = _stripe_refund(payment.payment_intent_id, order_id=order.id,
                            idempotency_key=f"duplicate-{payment.payment_intent_id}-refund")
    note = f"a second payment {payment.payment_intent_id} was refunded ({refund.id})"
    logger.warning("order %s: %s", order.id, note)
    _flag(order, note)
    return "duplicate payment refunded"


def _flag(order: Order, note: str) -> None:
    order.needs_attention, order.attention_note = True, note[:500]
    order.save(update_fields=["needs_attention", "attention_note", "updated"])


# Stock --------------------------------------------------------------------------------------


def _units(order: Order) -> dict[int, int]:
    units: dict[int, int] = defaultdict(int)
    for product_id, quantity in order.items.values_list("product_id", "quantity"):
        units[product_id] += quantity
    return dict(sorted(units.items()))


def _stock_put_back(order: Order) -> None:
    units = _units(order)
    for product_id, quantity in units.items():  # id order, as checkout locks them
        Product.objects.filter(id=product_id).update(stock=F("stock") + quantity)
    catalog_stock_changed(units)


class _NotEnoughStock(Exception):
    pass


def _stock_retake(order: Order) -> bool:
    """Take the order's stock again, all or nothing, as checkout does; False if it is gone."""
    units = _units(order)
    try:
        with transaction.atomic():
            list(Product.objects.select_for_update().filter(id__in=units).order_by("id"))
            for product_id, quantity in units.items():
                taken = Product.objects.filter(id=product_id, stock__gte=quantity).update(
                    stock=F("stock") - quantity
                )
                if not taken:
                    raise _NotEnoughStock()
    except _NotEnoughStock:
        return False
    catalog_stock_changed(units)
    return True


def _late_payment_refunded_email(order_id: int) -> None:
    def publish():
        from apps.payment.tasks import late_payment_refunded_email

        try:
            late_payment_refunded_email.delay(order_id)
        except Exception:
            # The refund stands whatever the broker does; the e-mail is the part that is lost.
            logger.warning("order %s: the late-payment refund e-mail was not queued", order_id, exc_info=True)

    transaction.on_commit(publish)


# Expiry -------------------------------------------------------------------------------------


def orders_expire(*, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Expire the unpaid orders past their deadline (at most `limit` a sweep): {outcome: count}."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status=OrderStatus.AWAITING_PAYMENT, payment_deadline__lt=now)
        .order_by("payment_deadline").values_list("id", flat=True)[:limit]
    )
    import stripe

    outcomes: dict[str, int] = defaultdict(int)
    for order_id in due:
        try:
            outcomes[order_expire(order_id=order_id, now=now)] += 1
        except stripe.StripeError as error:
            # A refund the order needed (a second payment, say) failed: the next sweep tries again.
            logger.warning("order %s: not expired, Stripe answered %s", order_id, error)
            outcomes["stripe unavailable"] += 1
    return dict(outcomes)


def order_expire(*, order_id: int, now: datetime | None = None) -> str:
    """Cancel an unpaid order past its deadline, Stripe first: what was done.

    Its PaymentIntent is cancelled at Stripe before the order, so that nobody can pay it after
    its stock went back. If Stripe says it was paid meanwhile, the order is marked paid instead
    (payment_succeeded). An order whose PaymentIntent is still processing is left for the next
    sweep, and so is one that got a PaymentIntent after this sweep looked at Stripe.
    """
    import stripe

    now = now or timezone.now()
    intent_id = Order.objects.filter(id=order_id).values_list("stripe_id", flat=True).first()
    if intent_id:
        try:
            intent = _stripe_cancel(intent_id)
        except stripe.StripeError as error:
            logger.warning("order %s: cancelling %s at Stripe failed (%s); the next sweep tries again",
                           order_id, intent_id, error)
            return "stripe unavailable"
        if intent.status == "succeeded":
            payment = Payment(intent.id, int(intent.amount), str(intent.currency).lower())
            return payment_succeeded(order_id=order_id, payment=payment)
        if intent.status != "canceled":
            return f"left: payment {intent.status}"
    with transaction.atomic():
        order = _locked_order(order_id)
        if order is None or order.status != OrderStatus.AWAITING_PAYMENT:
            return "already settled"
        if order.payment_deadline is None or order.payment_deadline >= now:
            return "not due"
        if order.stripe_id != (intent_id or ""):
            return "left: new payment"
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status", "updated"])
        _stock_put_back(order)
        order_cancelled.send(sender=Order, order_id=order.id)
        return "cancelled"


def _stripe_cancel(intent_id: str):
    """The PaymentIntent after asking Stripe to cancel it (a paid or cancelled one stays as is)."""
    import stripe

    from apps.payment.stripe_api import stripe_client

    client = stripe_client()
    try:
        return client.v1.payment_intents.cancel(intent_id)
    except stripe.InvalidRequestError:
        # Not cancellable (succeeded, processing, cancelled already): what is it, then?
        return client.v1.payment_intents.retrieve(intent_id)
