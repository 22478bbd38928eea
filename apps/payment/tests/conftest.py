"""The payment app's shared fixtures: a paid order whose customer writes in Korean."""

from decimal import Decimal

import pytest

from apps.orders.models import ConfirmationStatus, Order, OrderStatus
from apps.orders.tests.factories import OrderFactory, OrderItemFactory
from apps.shop.tests.factories import ProductFactory

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
