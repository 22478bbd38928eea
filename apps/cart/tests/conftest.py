from decimal import Decimal

import pytest

from apps.shop.tests.factories import ProductFactory


@pytest.fixture
def lamp(db):
    """The product in the cart of the cart page's tests: $10.00, 3 in stock."""
    return ProductFactory(name="Walnut Desk Lamp", price=Decimal("10.00"), stock=3)
