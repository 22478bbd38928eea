"""Order and OrderItem: costs, names, and what the database refuses."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from apps.orders.models import OrderItem
from apps.orders.tests.factories import OrderFactory, OrderItemFactory
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory


@pytest.mark.django_db
class TestOrderItem:
    def test_cost_is_price_times_quantity(self):
        item = OrderItemFactory(product=ProductFactory(price=Decimal("19.90")), quantity=3)

        assert item.get_cost() == Decimal("59.70")

    def test_price_is_the_one_recorded_not_the_products_current_one(self):
        product = ProductFactory(price=Decimal("10.00"))
        item = OrderItemFactory(product=product, quantity=2)
        Product.objects.filter(id=product.id).update(price=Decimal("99.00"))

        item = OrderItem.objects.get(id=item.id)
        assert item.get_cost() == Decimal("20.00")

    def test_str_is_its_id(self):
        item = OrderItemFactory()

        assert str(item) == str(item.id)

    def test_quantity_below_one_is_refused_by_the_database(self):
        order = OrderFactory()
        product = ProductFactory()

        with pytest.raises(IntegrityError), transaction.atomic():
            OrderItem.objects.create(order=order, product=product, price=product.price, quantity=0)


@pytest.mark.django_db
class TestOrder:
    def test_total_cost_sums_its_items(self):
        order = OrderFactory()
        OrderItemFactory(order=order, product=ProductFactory(price=Decimal("19.90")), quantity=2)
        OrderItemFactory(order=order, product=ProductFactory(price=Decimal("7.50")), quantity=3)

        assert order.get_total_cost() == Decimal("62.30")

    def test_total_cost_of_an_order_without_items_is_zero(self):
        total = OrderFactory().get_total_cost()

        assert total == Decimal("0.00")
        assert isinstance(total, Decimal)

    def test_str_names_the_order_number(self):
        order = OrderFactory()

        assert str(order) == f"Order {order.id}"

    def test_new_order_is_not_paid(self):
        assert OrderFactory().paid is False

    def test_deleting_a_product_that_is_on_an_order_is_refused(self):
        item = OrderItemFactory()

        with pytest.raises(ProtectedError):
            item.product.delete()
        assert Product.objects.filter(id=item.product_id).exists()
        assert OrderItem.objects.filter(id=item.id).exists()

    def test_deleting_an_order_deletes_its_items_but_not_the_products(self):
        item = OrderItemFactory()

        item.order.delete()

        assert not OrderItem.objects.filter(id=item.id).exists()
        assert Product.objects.filter(id=item.product_id).exists()
