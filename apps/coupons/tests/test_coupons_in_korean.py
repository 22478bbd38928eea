"""Applying, refusing and removing a coupon, and the discounted cart, in Korean and in English."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.coupons.exceptions import CouponExpiredError, CouponNotYetValidError
from apps.coupons.tests.factories import CouponFactory
from apps.shop.tests.factories import ProductFactory
from tests.support.korean import assert_korean_page, korean_client, messages_shown

pytestmark = pytest.mark.django_db

APPLY_URL = reverse("coupons:apply")


def shopper(client: Client) -> Client:
    lamp = ProductFactory(name="Desk lamp", price=Decimal("19.90"))
    client.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 2}, follow=True)  # its notice read
    return client


class TestCouponsInKorean:
    def test_an_applied_coupon_and_the_discount_are_shown_in_korean(self):
        CouponFactory(code="WINTER15", discount=15)
        client = shopper(korean_client())

        applied = client.post(APPLY_URL, {"code": "winter15"}, follow=True)

        assert messages_shown(applied) == ["WINTER15 쿠폰을 적용했습니다. 주문 금액에서 15% 할인됩니다."]
        assert_korean_page(
            applied,
            korean=["쿠폰 WINTER15: 15% 할인.", "소계", "할인 (WINTER15), 15%", "−$5.97", "합계", "$33.83"],
            english=["Subtotal", "Discount", "off"],
            allowed={"WINTER"},
        )

    def test_an_unknown_code_is_refused_in_korean(self):
        refused = shopper(korean_client()).post(APPLY_URL, {"code": "nope"}, follow=True)

        assert messages_shown(refused) == ["“NOPE” 쿠폰이 없습니다. 코드를 확인하고 다시 입력해 주세요."]

    def test_an_unknown_code_is_refused_in_english(self):
        refused = shopper(Client()).post(APPLY_URL, {"code": "nope"}, follow=True)

        assert messages_shown(refused) == [
            "There is no coupon with “NOPE”. Please check the code and try again."
        ]

    def test_an_empty_code_and_a_used_up_coupon_are_refused_in_korean(self):
        CouponFactory(code="GONE", max_uses=1, used=1)
        client = shopper(korean_client())

        assert messages_shown(client.post(APPLY_URL, {"code": " "}, follow=True)) == [
            "쿠폰 코드를 입력해 주세요."
        ]
        assert messages_shown(client.post(APPLY_URL, {"code": "gone"}, follow=True)) == [
            "GONE 쿠폰은 사용 가능 횟수를 모두 소진했습니다."
        ]

    def test_removing_the_coupon_says_so_in_korean(self):
        coupon = CouponFactory()
        client = shopper(korean_client())
        client.post(APPLY_URL, {"code": coupon.code}, follow=True)

        removed = client.post(reverse("coupons:remove"), follow=True)

        assert messages_shown(removed) == ["장바구니에서 쿠폰을 삭제했습니다."]

    def test_validity_dates_are_written_the_languages_way(self):
        start = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)

        with translation.override("ko"):
            korean = str(CouponNotYetValidError("SPRING", start))
        with translation.override("en"):
            english = str(CouponExpiredError("SPRING", start))

        assert (
            korean
            == "SPRING 쿠폰은 아직 사용할 수 없습니다. 2027년 1월 5일 09:30(UTC)부터 사용할 수 있습니다."
        )
        assert english == "The coupon SPRING expired on 05 January 2027, 09:30 UTC."
