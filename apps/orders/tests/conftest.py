"""The orders app's shared fixtures; tests/conftest.py hands `order` on to the cross-app tests."""

from decimal import Decimal

import pytest

from apps.orders.models import Order
from apps.orders.tests.factories import CUSTOMER, OrderFactory, OrderItemFactory
from apps.shop.tests.factories import ProductFactory


@pytest.fixture
def order(db) -> Order:
    """Ada's order (factories.CUSTOMER) of two desk lamps at 19.90 and three mugs at 7.50: 62.30.

    Made with the factories, not through checkout: no session remembers it, no stock was taken,
    and its confirmation is pending (not queued yet).
    """
    order = OrderFactory(**CUSTOMER)
    lamp = ProductFactory(name="Desk lamp", price=Decimal("19.90"))
    mug = ProductFactory(name="Mug", price=Decimal("7.50"))
    OrderItemFactory(order=order, product=lamp, quantity=2)
    OrderItemFactory(order=order, product=mug, quantity=3)
    return order
