"""Applying a coupon on the cart page and removing it, through the views."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.coupons.models import Coupon
from apps.coupons.session import COUPON_SESSION_KEY
from apps.coupons.tests.factories import CouponFactory
from apps.shop.tests.factories import ProductFactory
from tests.support.messages import page_messages

pytestmark = pytest.mark.django_db

APPLY = reverse("coupons:apply")
REMOVE = reverse("coupons:remove")
CART = reverse("cart:cart_detail")


@pytest.fixture
def shopper(client):
    product = ProductFactory(price=Decimal("19.99"), stock=10)
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 3})
    client.get(CART)  # its notice shown
    return client


class TestCouponApply:
    def test_a_code_in_any_case_with_spaces_around_is_applied_and_the_cart_shows_the_discount(self, shopper):
        coupon = CouponFactory(code="SAVE10", discount=10)

        response = shopper.post(APPLY, {"code": "  save10 "}, follow=True)

        assert shopper.session[COUPON_SESSION_KEY] == coupon.id
        assert page_messages(response) == ["Coupon SAVE10 applied: 10% off your order."]
        totals = response.context["totals"]
        # 59.97 − 10 % (5.997, half-up 6.00) = 53.97
        assert (totals.subtotal, totals.discount, totals.total) == (
            Decimal("59.97"), Decimal("6.00"), Decimal("53.97"))
        body = response.content.decode()
        assert "$59.97" in body and "−$6.00" in body and "$53.97" in body and "SAVE10" in body

    @pytest.mark.parametrize("coupon, code, message", [
        (None, "NOPE", "There is no coupon with “NOPE”. Please check the code and try again."),
        (dict(code="OFF", active=False), "off", "The coupon OFF is no longer valid."),
        (dict(code="OLD", valid_to=timezone.now() - timedelta(seconds=1),
              valid_from=timezone.now() - timedelta(days=9)), "old", "The coupon OLD expired on"),
        (dict(code="SOON", valid_from=timezone.now() + timedelta(days=1),
              valid_to=timezone.now() + timedelta(days=9)), "soon", "The coupon SOON is not valid yet"),
        (dict(code="GONE", max_uses=2, used=2), "gone",
         "The coupon GONE has been used as many times as it can be."),
    ], ids=["unknown", "inactive", "expired", "not-yet-valid", "used-up"])
    def test_a_code_that_cannot_be_used_says_why_and_changes_nothing(self, shopper, coupon, code, message):
        if coupon:
            CouponFactory(**coupon)
        applied = CouponFactory(code="KEPT")
        shopper.post(APPLY, {"code": "kept"})

        response = shopper.post(APPLY, {"code": code}, follow=True)

        assert page_messages(response)[-1].startswith(message)
        assert shopper.session[COUPON_SESSION_KEY] == applied.id
        assert response.context["coupon"] == applied

    @pytest.mark.parametrize("code, message", [
        ("", "Enter a coupon code."),
        ("   ", "Enter a coupon code."),
        ("x" * 10_000, "There is no coupon with this code. Please check the code and try again."),
        ("SAVE\x0010", "There is no coupon with this code. Please check the code and try again."),
        ("SÄVE", "There is no coupon with this code. Please check the code and try again."),
    ], ids=["empty", "spaces", "10-kB", "NUL", "not-a-code"])
    def test_bad_input_gets_a_message_and_costs_no_query(self, shopper, code, message,
                                                         django_assert_num_queries):
        CouponFactory(code="SAVE10")
        with django_assert_num_queries(0):
            response = shopper.post(APPLY, {"code": code})
        assert response.status_code == 302
        assert page_messages(shopper.get(CART)) == [message]
        assert COUPON_SESSION_KEY not in shopper.session

    def test_a_code_that_is_not_utf_8_gets_a_message(self, shopper):
        response = shopper.post(APPLY, b"code=SAVE%FF%FE10", content_type="application/x-www-form-urlencoded")
        assert response.status_code == 302
        assert COUPON_SESSION_KEY not in shopper.session

    def test_get_is_not_allowed(self, shopper):
        assert shopper.get(APPLY).status_code == 405

    def test_applying_keeps_a_line_another_tab_added_meanwhile(self, shopper):
        from django.test import Client

        CouponFactory(code="SAVE10")
        other_tab = Client()
        other_tab.cookies = shopper.cookies
        lamp = ProductFactory()
        # This tab has loaded the session (the cart, one line) when the other adds a line and saves.
        session = shopper.session
        other_tab.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
        from apps.coupons.session import session_coupon_apply

        session_coupon_apply(session, Coupon.objects.get().id)
        session.save()

        assert str(lamp.id) in shopper.session["cart"]["items"]
        assert shopper.session[COUPON_SESSION_KEY] == Coupon.objects.get().id


class TestCouponRemove:
    def test_removes_the_coupon_and_the_cart_shows_the_full_total(self, shopper):
        CouponFactory(code="SAVE10")
        shopper.post(APPLY, {"code": "save10"})

        response = shopper.post(REMOVE, follow=True)

        assert COUPON_SESSION_KEY not in shopper.session
        assert page_messages(response)[-1] == "The coupon was removed from your cart."
        assert response.context["totals"].total == Decimal("59.97")


class TestCouponOnTheCartPage:
    def test_a_coupon_that_expired_since_it_was_applied_is_dropped_with_a_notice(self, shopper):
        coupon = CouponFactory(code="SAVE10")
        shopper.post(APPLY, {"code": "save10"})
        Coupon.objects.filter(id=coupon.id).update(valid_to=timezone.now() - timedelta(seconds=1))

        response = shopper.get(CART)

        assert page_messages(response)[-1].endswith("It was removed from your cart.")
        assert response.context["coupon"] is None
        assert response.context["totals"].total == Decimal("59.97")
        assert COUPON_SESSION_KEY not in shopper.session

    @pytest.mark.parametrize("value", ["1", True, -3, 2**64, [1], None])
    def test_a_hand_edited_coupon_value_is_ignored_and_dropped(self, shopper, value):
        session = shopper.session
        session[COUPON_SESSION_KEY] = value
        session.save()

        response = shopper.get(CART)

        assert response.status_code == 200
        assert response.context["coupon"] is None
        assert COUPON_SESSION_KEY not in shopper.session


class TestCouponCsrf:
    """Both views change the session: a POST without the page's CSRF token is refused."""

    def csrf_shopper(self):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        product = ProductFactory(stock=5)
        client.get(product.get_absolute_url())  # its form sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1,
                                                                "csrfmiddlewaretoken": token})
        return client, token

    def test_apply_without_token_is_refused_and_with_the_cart_pages_token_accepted(self):
        coupon = CouponFactory(code="SAVE10")
        client, token = self.csrf_shopper()

        assert client.post(APPLY, {"code": "SAVE10"}).status_code == 403
        assert COUPON_SESSION_KEY not in client.session
        assert client.post(APPLY, {"code": "SAVE10", "csrfmiddlewaretoken": token}).status_code == 302
        assert client.session[COUPON_SESSION_KEY] == coupon.id

    def test_remove_without_token_is_refused(self):
        CouponFactory(code="SAVE10")
        client, token = self.csrf_shopper()
        client.post(APPLY, {"code": "SAVE10", "csrfmiddlewaretoken": token})

        assert client.post(REMOVE).status_code == 403
        assert COUPON_SESSION_KEY in client.session
