"""A coupon's max_uses under concurrent checkouts on PostgreSQL: exactly that many orders get it."""

import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from apps.coupons.models import Coupon
from apps.coupons.tests.factories import CouponFactory
from apps.orders.models import Order
from apps.orders.tests.checkout import checkout_form, placed_order_id
from apps.orders.tests.factories import CUSTOMER, OrderFactory
from apps.payment.signals import order_cancelled
from apps.shop.tests.factories import ProductFactory
from tests.support.postgres import in_transaction_held_open, wait_until_a_session_waits_for_a_lock

BUYERS = 20
MAX_USES = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCouponMaxUsesUnderConcurrency:
    def test_twenty_checkouts_with_a_coupon_of_five_uses_make_five_discounted_orders(self):
        coupon = CouponFactory(code="FIVE", discount=20, max_uses=MAX_USES)
        # One product per buyer: nothing but the coupon is shared, so no product lock queues them.
        products = [ProductFactory(stock=5) for _ in range(BUYERS)]
        start_together = threading.Barrier(BUYERS)
        outcomes: list[str] = []
        errors: list[BaseException] = []

        def buy(product):
            try:
                client = Client()
                client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
                client.post(reverse("coupons:apply"), {"code": "five"})
                fields = {**checkout_form(client), **CUSTOMER}
                start_together.wait(timeout=30)
                response = client.post(reverse("orders:order_create"), fields)
                if placed_order_id(response) is not None:
                    outcomes.append("ordered")
                elif response.status_code == 200 and (
                    "The coupon FIVE has been used as many times as it can be. Your order was not placed"
                    in response.content.decode()
                ):
                    outcomes.append("refused")
                else:
                    outcomes.append(f"unexpected {response.status_code}")
            except BaseException as error:  # noqa: BLE001 - a thread cannot fail the test; reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=buy, args=[product]) for product in products]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert sorted(outcomes) == ["ordered"] * MAX_USES + ["refused"] * (BUYERS - MAX_USES)
        assert Order.objects.count() == MAX_USES
        assert Order.objects.filter(coupon=coupon, discount=20, coupon_use_held=True).count() == MAX_USES
        assert Coupon.objects.get(id=coupon.id).used == MAX_USES


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCouponUseGivenBackUnderConcurrency:
    def test_two_cancellations_of_one_order_at_once_give_its_use_back_once(self):
        """The first cancellation holds its transaction open (as payhooks' does, holding the
        order's lock); a second report of it meanwhile (a redelivered expiry, staff) waits for
        the first to commit and then finds the use given back already."""
        coupon = CouponFactory(code="BACK", max_uses=5, used=2)
        order = OrderFactory(coupon=coupon, discount=coupon.discount, coupon_use_held=True)
        # Another order's use, which stays taken.
        OrderFactory(coupon=coupon, discount=coupon.discount, coupon_use_held=True)

        def cancel():
            order_cancelled.send(sender=Order, order_id=order.id)

        first_done, first_release, first_outcome = threading.Event(), threading.Event(), []
        second_done, second_release, second_outcome = threading.Event(), threading.Event(), []
        first = threading.Thread(target=in_transaction_held_open, args=[cancel],
                                 kwargs=dict(done=first_done, release=first_release, outcome=first_outcome))
        second = threading.Thread(target=in_transaction_held_open, args=[cancel], kwargs=dict(
            done=second_done, release=second_release, outcome=second_outcome))
        first.start()
        assert first_done.wait(timeout=30)
        second.start()
        # The second waits for the first's lock on the order; without one it gives back at once.
        waited = second_done.wait(timeout=1) is False
        if waited:
            wait_until_a_session_waits_for_a_lock()
        first_release.set()
        first.join(timeout=30)
        assert second_done.wait(timeout=30)
        second_release.set()
        second.join(timeout=30)

        assert first_outcome == ["committed"] and second_outcome == ["committed"]
        assert Coupon.objects.get(id=coupon.id).used == 1
        assert waited
