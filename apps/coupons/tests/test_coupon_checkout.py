"""A coupon from the cart to the order: the checkout page, the order's totals, its use, and
everything that shows them (thank-you page, e-mail, admin), browser-free through the views."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.coupons.models import Coupon
from apps.coupons.services import coupon_use_give_back
from apps.coupons.session import COUPON_SESSION_KEY
from apps.coupons.tests.factories import CouponFactory
from apps.orders import services
from apps.orders.emails import order_confirmation_message
from apps.orders.models import Order
from apps.orders.selectors import order_with_items
from apps.orders.tests.checkout import CREATE_URL, checkout_form, thank_you_url
from apps.orders.tests.factories import CUSTOMER
from apps.payment.signals import order_cancelled
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from tests.support.messages import page_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupon():
    return CouponFactory(code="SAVE15", discount=15, max_uses=3)


@pytest.fixture
def shopper(client, coupon):
    """Two desk lamps at 19.90 and three mugs at 7.50 (62.30), SAVE15 applied: 9.345 → 9.35 off."""
    for price, quantity in [("19.90", 2), ("7.50", 3)]:
        product = ProductFactory(price=Decimal(price), stock=10)
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": quantity})
    client.post(reverse("coupons:apply"), {"code": "save15"})
    return client


def post_checkout(client, shown_fields):
    return client.post(CREATE_URL, {**shown_fields, **CUSTOMER})


class TestCheckoutWithACoupon:
    def test_the_checkout_page_shows_subtotal_discount_and_total(self, shopper):
        response = shopper.get(CREATE_URL)
        totals = response.context["totals"]
        assert (totals.subtotal, totals.discount, totals.total) == (
            Decimal("62.30"), Decimal("9.35"), Decimal("52.95"))
        body = response.content.decode()
        assert "Subtotal: $62.30" in body and "−$9.35" in body and "Total: $52.95" in body

    def test_apply_then_checkout_places_the_order_with_the_coupon_and_its_percent(self, shopper, coupon):
        response = post_checkout(shopper, checkout_form(shopper))

        assert response.status_code == 302, response.content.decode()[:2000]
        order = Order.objects.get()
        assert (order.coupon, order.discount, order.coupon_use_held) == (coupon, 15, True)
        assert (order.get_subtotal(), order.get_discount(), order.get_total_cost()) == (
            Decimal("62.30"), Decimal("9.35"), Decimal("52.95"))
        assert Coupon.objects.get(id=coupon.id).used == 1
        thank_you = shopper.get(thank_you_url(response)).content.decode()
        assert "Subtotal: $62.30" in thank_you and "−$9.35" in thank_you and "Total: $52.95" in thank_you

    def test_the_order_keeps_the_percent_it_was_placed_with(self, shopper, coupon):
        post_checkout(shopper, checkout_form(shopper))
        Coupon.objects.filter(id=coupon.id).update(discount=50)

        assert Order.objects.get().get_total_cost() == Decimal("52.95")

    def test_the_confirmation_e_mail_shows_the_same_totals(self, shopper):
        post_checkout(shopper, checkout_form(shopper))
        message = order_confirmation_message(order=order_with_items(order_id=Order.objects.get().id))

        assert "Subtotal: $62.30" in message.body
        assert "Discount (SAVE15), 15%: -$9.35" in message.body
        assert "Total: $52.95" in message.body
        html = message.alternatives[0][0]
        assert "$62.30" in html and "−$9.35" in html and "$52.95" in html

    def test_the_admin_shows_the_same_totals(self, shopper, admin_client):
        post_checkout(shopper, checkout_form(shopper))
        order = Order.objects.get()

        detail = admin_client.get(reverse("admin:orders_order_detail", args=[order.id])).content.decode()
        assert "$62.30" in detail and "−$9.35" in detail and "$52.95" in detail
        assert "SAVE15, 15% off" in detail
        change = admin_client.get(reverse("admin:orders_order_change", args=[order.id])).content.decode()
        assert "$62.30 − $9.35 (15%) = $52.95" in change
        export = admin_client.post(reverse("admin:orders_order_changelist"),
                                   {"action": "export_to_csv", "_selected_action": [order.id]})
        header, row = list(csv.reader(io.StringIO(export.content.decode())))
        cells = dict(zip(header, row, strict=True))
        assert (cells["subtotal"], cells["discount"], cells["total_cost"]) == ("62.30", "15", "52.95")


class TestCouponChangedBeforeThePageWasSubmitted:
    """The page signed what it showed, coupon included: a change places nothing and shows the
    new total, which the shopper confirms by placing the order again."""

    @pytest.mark.parametrize("change, reason", [
        (dict(valid_to=timezone.now() - timedelta(seconds=1), valid_from=timezone.now() - timedelta(days=2)),
         "The coupon SAVE15 expired on"),
        (dict(active=False), "The coupon SAVE15 is no longer valid."),
        (dict(used=3), "The coupon SAVE15 has been used as many times as it can be."),
    ], ids=["expired", "deactivated", "used-up"])
    def test_a_coupon_that_can_no_longer_be_used_is_dropped_and_the_new_total_confirmed(
        self, shopper, coupon, change, reason
    ):
        shown = checkout_form(shopper)
        Coupon.objects.filter(id=coupon.id).update(**change)

        response = post_checkout(shopper, shown)

        assert response.status_code == 200
        assert not Order.objects.exists()
        (error,) = response.context["form"].non_field_errors()
        assert error.startswith(reason) and "Your order was not placed" in error
        assert page_messages(response)[-1].endswith("It was removed from your cart.")
        assert response.context["totals"].total == Decimal("62.30")
        assert COUPON_SESSION_KEY not in shopper.session
        # The shopper confirms the total shown now.
        confirmed = post_checkout(shopper, shown_of(response))
        assert confirmed.status_code == 302
        order = Order.objects.get()
        assert (order.coupon, order.discount, order.get_total_cost()) == (None, 0, Decimal("62.30"))

    def test_a_changed_percent_places_nothing_and_shows_the_new_total(self, shopper, coupon):
        shown = checkout_form(shopper)
        Coupon.objects.filter(id=coupon.id).update(discount=20)

        response = post_checkout(shopper, shown)

        assert response.status_code == 200
        assert not Order.objects.exists()
        (error,) = response.context["form"].non_field_errors()
        assert "coupon now SAVE15 (20% off) instead of SAVE15 (15% off)" in error
        assert response.context["totals"].total == Decimal("49.84")  # 62.30 − 12.46
        assert Coupon.objects.get(id=coupon.id).used == 0
        assert post_checkout(shopper, shown_of(response)).status_code == 302
        assert Order.objects.get().get_total_cost() == Decimal("49.84")

    def test_a_coupon_applied_in_another_tab_after_the_page_was_shown_places_nothing(self, client, coupon):
        product = ProductFactory(price=Decimal("10.00"))
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
        shown = checkout_form(client)
        client.post(reverse("coupons:apply"), {"code": "SAVE15"})

        response = post_checkout(client, shown)

        assert response.status_code == 200 and not Order.objects.exists()
        (error,) = response.context["form"].non_field_errors()
        assert "coupon now SAVE15 (15% off) instead of no coupon" in error
        assert response.context["totals"].total == Decimal("8.50")

    def test_a_coupon_removed_in_another_tab_after_the_page_was_shown_places_nothing(self, shopper):
        shown = checkout_form(shopper)
        shopper.post(reverse("coupons:remove"))

        response = post_checkout(shopper, shown)

        assert response.status_code == 200 and not Order.objects.exists()
        (error,) = response.context["form"].non_field_errors()
        assert "The coupon SAVE15 is no longer applied to your cart." in error
        assert response.context["totals"].total == Decimal("62.30")

    def test_a_page_signed_before_coupons_reads_as_showing_none(self, client):
        from django.core import signing

        product = ProductFactory(price=Decimal("10.00"), name="Mug")
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
        old_page = signing.dumps([[product.id, "Mug", 1, "10.00"]], salt="apps.orders.shown", compress=True)

        assert post_checkout(client, {"shown": old_page}).status_code == 302
        assert Order.objects.get().get_total_cost() == Decimal("10.00")


def shown_of(response) -> dict:
    """The hidden field of a checkout page rendered again, as the browser would post it back."""
    from apps.orders.tests.checkout import hidden_fields

    return hidden_fields(response)


class TestCouponUseGivenBack:
    def place(self, shopper) -> Order:
        assert post_checkout(shopper, checkout_form(shopper)).status_code == 302
        return Order.objects.get()

    def test_order_cancelled_twice_in_the_cancelling_transaction_gives_the_use_back_once(
        self, shopper, coupon
    ):
        order = self.place(shopper)
        CouponFactory(code="OTHER", used=0)
        assert Coupon.objects.get(id=coupon.id).used == 1

        # As payhooks sends it: inside the transaction that cancels the order, holding its lock;
        # a redelivered expiry or a staff cancel racing it reports the same order again.
        with transaction.atomic():
            Order.objects.select_for_update().get(id=order.id)
            order_cancelled.send(sender=Order, order_id=order.id)
            order_cancelled.send(sender=Order, order_id=order.id)
        with transaction.atomic():
            order_cancelled.send(sender=Order, order_id=order.id)

        assert Coupon.objects.get(id=coupon.id).used == 0
        assert Coupon.objects.get(code="OTHER").used == 0
        order.refresh_from_db()
        assert (order.coupon_use_held, order.coupon, order.discount) == (False, coupon, 15)
        # The order keeps its discount: what it was offered at is history.
        assert order.get_total_cost() == Decimal("52.95")

    def test_a_cancellation_rolled_back_gives_nothing_back(self, shopper, coupon):
        order = self.place(shopper)

        with pytest.raises(RuntimeError), transaction.atomic():
            order_cancelled.send(sender=Order, order_id=order.id)
            raise RuntimeError("the cancellation failed after the signal")

        assert Coupon.objects.get(id=coupon.id).used == 1
        assert coupon_use_give_back(order_id=order.id) is True
        assert coupon_use_give_back(order_id=order.id) is False

    def test_a_use_given_back_can_be_taken_by_another_order(self, client):
        coupon = CouponFactory(code="ONCE", max_uses=1)
        product = ProductFactory(stock=10)
        customer = services.Customer(**CUSTOMER)

        def order_once() -> Order:
            from apps.orders.shown import ShownCheckout, ShownCoupon, ShownLine

            line = ShownLine(product.id, product.name, 1, product.price)
            shown = ShownCheckout((line,), ShownCoupon("ONCE", 10))
            return services.order_create(quantities={product.id: 1}, cart_token=None, customer=customer,
                                         shown=shown, coupon_id=coupon.id)

        first = order_once()
        with pytest.raises(Exception, match="used as many times"):
            order_once()
        order_cancelled.send(sender=Order, order_id=first.id)
        assert order_once().coupon == coupon
        assert Coupon.objects.get(id=coupon.id).used == 1


class TestCheckoutOfANothingTotal:
    def test_a_coupon_taking_everything_off_places_nothing_and_keeps_its_use_and_stock(self, shopper, coupon):
        Coupon.objects.filter(id=coupon.id).update(discount=100)
        form = checkout_form(shopper)  # the page shows the total of nothing it would come to

        response = post_checkout(shopper, form)

        assert response.status_code == 200
        assert "Your order comes to nothing" in response.content.decode()
        assert not Order.objects.exists()
        assert Coupon.objects.get(id=coupon.id).used == 0
        assert sorted(Product.objects.values_list("stock", flat=True)) == [10, 10]
