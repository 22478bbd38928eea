"""The payment tests' fixtures: orders that went through checkout (stock taken, a deadline), a
paid order whose customer writes in Korean, what Celery and the payment signals were asked
to do, and the requests the shop sent to Stripe."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from apps.orders.models import ConfirmationStatus, Order, OrderStatus
from apps.orders.tests.factories import CUSTOMER, OrderFactory, OrderItemFactory
from apps.payment.signals import order_cancelled, order_paid
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory

STOCK_LEFT = 5

KOREAN_CUSTOMER = {
    "first_name": "민준",
    "last_name": "김",
    "email": "minjun.kim@example.com",
    "address": "테헤란로 152, 강남파이낸스센터 12층",
    "postal_code": "06236",
    "city": "서울특별시",
}


@pytest.fixture
def paid_order(db) -> Order:
    """Paid (as the webhook leaves it, its invoice due), confirmation sent: two lamps at 19.90
    and three mugs at 7.50, 62.30 in all."""
    order = OrderFactory(
        **KOREAN_CUSTOMER, status=OrderStatus.PAID, paid=True,
        confirmation_status=ConfirmationStatus.SENT,
    )
    lamp = ProductFactory(name="Desk lamp 스탠드", price=Decimal("19.90"))
    mug = ProductFactory(name="Mug", price=Decimal("7.50"))
    OrderItemFactory(order=order, product=lamp, quantity=2)
    OrderItemFactory(order=order, product=mug, quantity=3)
    return order


def placed_order(*, units: int = 2, stock_left: int = STOCK_LEFT, price=Decimal("19.90"),
                 deadline_in_minutes: int = 30, **fields) -> Order:
    """An order of `units` lamps as checkout leaves it: awaiting payment, with a deadline, its
    units already taken from the product's stock (`stock_left` remain on the shelf)."""
    lamp = ProductFactory(name="Desk lamp", price=price, stock=stock_left)
    order = OrderFactory(**{**CUSTOMER, **fields}, status=OrderStatus.AWAITING_PAYMENT,
                         payment_deadline=timezone.now() + timedelta(minutes=deadline_in_minutes))
    OrderItemFactory(order=order, product=lamp, quantity=units)
    return order


def stock_of(order: Order) -> int:
    return Product.objects.get(order_items__order=order).stock


@pytest.fixture
def order(db) -> Order:
    return placed_order()


@pytest.fixture
def stripe_requests(monkeypatch) -> list[str]:
    """Every request the shop's Stripe client sends during the test, as "METHOD /v1/path".

    Counted at the SDK's HTTP client, which still sends each one (to localstripe): a count,
    not a mock.
    """
    import stripe

    sent: list[str] = []
    send = stripe.RequestsClient.request

    def counted(self, method, url, headers, post_data=None):
        sent.append(f"{method.upper()} {urlsplit(url).path}")
        return send(self, method, url, headers, post_data)

    monkeypatch.setattr(stripe.RequestsClient, "request", counted)
    return sent


@pytest.fixture
def signals_sent():
    """The payment signals sent during the test, in any thread: (signal name, order id)."""
    sent = []

    def paid(sender, order_id, **_):
        sent.append(("order_paid", order_id))

    def cancelled(sender, order_id, **_):
        sent.append(("order_cancelled", order_id))

    order_paid.connect(paid, weak=False)
    order_cancelled.connect(cancelled, weak=False)
    yield sent
    order_paid.disconnect(paid)
    order_cancelled.disconnect(cancelled)
