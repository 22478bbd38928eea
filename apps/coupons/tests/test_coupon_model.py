"""Coupon: the code's normal form, what the database refuses, the admin's list."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.urls import reverse
from django.utils import timezone

from apps.coupons.models import Coupon
from apps.coupons.tests.factories import CouponFactory
from apps.orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


class TestCouponCode:
    def test_is_stored_upper_case_without_surrounding_spaces(self):
        assert CouponFactory(code="  summer10 ").code == "SUMMER10"

    def test_two_codes_differing_in_case_only_are_refused(self):
        CouponFactory(code="SUMMER10")
        with pytest.raises(IntegrityError), transaction.atomic():
            CouponFactory(code="summer10")

    def test_a_lower_case_code_written_past_save_is_refused_by_the_database_too(self):
        CouponFactory(code="SUMMER10")
        coupon = CouponFactory(code="OTHER")
        with pytest.raises(IntegrityError), transaction.atomic():
            Coupon.objects.filter(id=coupon.id).update(code="summer10")


class TestCouponConstraints:
    @pytest.mark.parametrize("percent", [-1, 101])
    def test_a_discount_outside_0_to_100_is_refused_by_the_database(self, percent):
        with pytest.raises(IntegrityError), transaction.atomic():
            CouponFactory(discount=percent)

    @pytest.mark.parametrize("percent", [-1, 101])
    def test_a_discount_outside_0_to_100_is_refused_by_validation(self, percent):
        with pytest.raises(ValidationError) as refused:
            CouponFactory.build(discount=percent).full_clean()
        assert "discount" in refused.value.message_dict

    def test_uses_beyond_max_uses_are_refused_by_the_database(self):
        coupon = CouponFactory(max_uses=1, used=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            Coupon.objects.filter(id=coupon.id).update(used=F("used") + 1)

    def test_max_uses_below_the_uses_taken_is_refused_by_validation(self):
        coupon = CouponFactory(max_uses=5, used=3)
        coupon.max_uses = 2
        with pytest.raises(ValidationError) as refused:
            coupon.full_clean()
        assert "max_uses" in refused.value.message_dict

    def test_valid_to_before_valid_from_is_refused(self):
        now = timezone.now()
        with pytest.raises(IntegrityError), transaction.atomic():
            CouponFactory(valid_from=now, valid_to=now - timedelta(seconds=1))

    def test_a_coupon_an_order_used_cannot_be_deleted(self):
        coupon = CouponFactory()
        OrderFactory(coupon=coupon, discount=coupon.discount)
        with pytest.raises(ProtectedError):
            coupon.delete()


class TestCouponAdmin:
    def test_list_shows_usage_and_searches_by_code(self, admin_client):
        CouponFactory(code="FIVE", max_uses=5, used=3)
        CouponFactory(code="OPEN", used=2)
        response = admin_client.get(reverse("admin:coupons_coupon_changelist"), {"q": "fiv"})
        body = response.content.decode()
        assert response.status_code == 200
        assert "3 of 5" in body and "FIVE" in body and "OPEN" not in body
        assert "2 (no limit)" in admin_client.get(reverse("admin:coupons_coupon_changelist")).content.decode()

    def test_list_filters_by_active(self, admin_client):
        CouponFactory(code="ON")
        CouponFactory(code="OFF", active=False)
        response = admin_client.get(reverse("admin:coupons_coupon_changelist"), {"active__exact": "0"})
        body = response.content.decode()
        assert "OFF" in body and ">ON<" not in body

    def test_adding_a_code_in_lower_case_stores_it_normalized(self, admin_client):
        now = timezone.now()
        response = admin_client.post(reverse("admin:coupons_coupon_add"), {
            "code": " spring5 ", "valid_from_0": now.date().isoformat(), "valid_from_1": "00:00:00",
            "valid_to_0": (now + timedelta(days=30)).date().isoformat(), "valid_to_1": "00:00:00",
            "discount": "5", "active": "on", "max_uses": "",
        })
        assert response.status_code == 302, response.content.decode()[:3000]
        assert Coupon.objects.get().code == "SPRING5"

    def test_adding_a_code_that_differs_only_in_case_shows_an_error(self, admin_client):
        CouponFactory(code="SPRING5")
        now = timezone.now()
        response = admin_client.post(reverse("admin:coupons_coupon_add"), {
            "code": "spring5", "valid_from_0": now.date().isoformat(), "valid_from_1": "00:00:00",
            "valid_to_0": (now + timedelta(days=30)).date().isoformat(), "valid_to_1": "00:00:00",
            "discount": "5", "active": "on", "max_uses": "",
        })
        assert response.status_code == 200
        assert Coupon.objects.count() == 1
