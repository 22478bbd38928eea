"""Checkout and the thank-you page in Korean: the form, what it refuses, and the order's status."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.orders.tests.checkout import CREATE_URL, checkout_form, place_order, thank_you_url
from apps.orders.tests.factories import CUSTOMER, OrderFactory
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from tests.support.korean import assert_korean_page, korean_client, messages_shown, shop_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp():
    return ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=5)


def with_cart(client: Client, product, quantity: int = 2) -> Client:
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": quantity}, follow=True)
    return client


class TestCheckoutInKorean:
    def test_the_checkout_page_is_in_korean(self, lamp):
        page = with_cart(korean_client(), lamp).get(CREATE_URL)

        assert_korean_page(
            page,
            korean=[
                "주문하기",
                "주문 내역",
                "합계: $39.80",
                "이름",
                "성",
                "이메일",
                "주소",
                "우편번호",
                "도시",
                "주문 확정",
            ],
            english=["Checkout", "Your order", "First name", "Email", "Place order", "Total"],
        )

    def test_the_blank_form_rendered_once_per_process_is_kept_per_language(self, lamp):
        korean = with_cart(korean_client(), lamp).get(CREATE_URL)
        english = with_cart(Client(), lamp).get(CREATE_URL)

        assert "우편번호" in shop_words(korean)
        assert "Postal code" in shop_words(english) and "우편번호" not in shop_words(english)

    def test_missing_fields_are_refused_in_korean(self, lamp):
        client = with_cart(korean_client(), lamp)

        page = client.post(CREATE_URL, {**checkout_form(client), **CUSTOMER, "city": ""})

        assert page.status_code == 200
        assert "필수 항목입니다." in shop_words(page)  # Django's own catalog
        assert "This field is required" not in shop_words(page)

    def test_short_stock_is_refused_in_korean_naming_the_product(self, lamp):
        client = with_cart(korean_client(), lamp)
        shown = checkout_form(client)
        Product.objects.filter(id=lamp.id).update(stock=1)

        page = client.post(CREATE_URL, {**shown, **CUSTOMER})

        assert page.status_code == 200
        assert "재고가 부족합니다: Desk lamp (재고 1개, 주문 수량 2개)." in shop_words(page)

    def test_a_price_changed_meanwhile_is_said_in_korean(self, lamp):
        client = with_cart(korean_client(), lamp)
        shown = checkout_form(client)
        Product.objects.filter(id=lamp.id).update(price=Decimal("1024.00"))

        page = client.post(CREATE_URL, {**shown, **CUSTOMER})

        assert (
            "이 페이지를 연 뒤 주문 내용이 바뀌어 주문이 접수되지 않았습니다: "
            "Desk lamp 가격이 $19.90에서 $1,024.00(으)로 바뀜."
        ) in shop_words(page)

    def test_the_unpaid_orders_cap_is_said_in_korean(self, lamp, settings):
        settings.SHOP_MAX_UNPAID_ORDERS = 2
        deadline = timezone.now() + timedelta(minutes=30)
        OrderFactory.create_batch(2, **CUSTOMER, payment_deadline=deadline)

        page = place_order(with_cart(korean_client(), lamp))

        assert page.status_code == 200
        assert "결제하지 않은 주문이 이미 2건 있습니다." in shop_words(page)

    def test_an_empty_cart_at_checkout_is_said_in_korean(self):
        page = korean_client().get(CREATE_URL, follow=True)

        assert messages_shown(page) == ["장바구니가 비어 있습니다."]

    def test_the_thank_you_page_is_in_korean(self, lamp):
        client = with_cart(korean_client(), lamp)

        page = client.get(thank_you_url(place_order(client)))

        assert_korean_page(
            page,
            korean=[
                "감사합니다",
                "주문 번호는",
                "합계: $39.80",
                "상태: 결제 대기",
                "주문 결제하기",
                "쇼핑 계속하기",
            ],
            english=["Thank you", "Status", "Awaiting payment", "Continue shopping"],
        )
