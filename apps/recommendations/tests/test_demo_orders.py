"""seed_catalog --demo-data: the demo coupon and paid demo orders, made once, pairs counted, shown."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from apps.coupons.models import Coupon
from apps.orders.models import ConfirmationStatus, Order, OrderStatus
from apps.recommendations.models import CountedOrder, ProductPair
from apps.recommendations.selectors import bought_with_product
from apps.shop.models import Product

pytestmark = pytest.mark.django_db


def seed(products: int, **options) -> str:
    out = io.StringIO()
    call_command("seed_catalog", products=products, stdout=out, **{"demo_data": True, **options})
    return out.getvalue()


class TestDemoOrders:
    def test_seed_makes_paid_orders_with_their_pairs_counted_and_a_coupon(self):
        output = seed(12)

        orders = Order.objects.all()
        assert orders.count() == 14
        assert all(o.status == OrderStatus.PAID and o.paid for o in orders)
        # Marked sent: the confirmation sweep of `make run` e-mails no demo address.
        assert all(o.confirmation_status == ConfirmationStatus.SENT for o in orders)
        assert CountedOrder.objects.count() == 14
        assert Coupon.objects.get().code == "WELCOME10"
        assert output.splitlines()[0] == (
            "Demo data: coupon WELCOME10 (10% off) and 14 paid orders for the bought-together lists."
        )
        first = Product.objects.order_by("id").first()
        assert len(bought_with_product(product_id=first.id)) == 4
        assert "bought-together" in Client().get(first.get_absolute_url()).content.decode()

    def test_running_it_twice_adds_nothing(self):
        seed(12)
        def pairs():
            rows = ProductPair.objects.order_by("product", "other")
            return list(rows.values_list("product", "other", "count"))

        counts = pairs()

        output = seed(12)

        assert Order.objects.count() == 14 and Coupon.objects.count() == 1
        assert pairs() == counts
        assert "Demo data" not in output

    def test_a_catalog_of_one_product_gets_no_orders(self):
        seed(1)
        assert not Order.objects.exists()

    def test_without_demo_data_the_seed_makes_no_coupon_and_no_order(self):
        output = seed(12, demo_data=False)
        assert not Order.objects.exists() and not Coupon.objects.exists()
        assert "Demo data" not in output
