"""The cart page, its header summary and its notices in Korean, and English still the default."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from apps.recommendations.models import ProductPair
from apps.shop.tests.factories import ProductFactory
from tests.support.korean import assert_korean_page, korean_client, messages_shown, shop_words

pytestmark = pytest.mark.django_db

CART_URL = reverse("cart:cart_detail")


@pytest.fixture
def lamp():
    return ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=2)


def add(client: Client, product, quantity: int, **fields):
    return client.post(
        reverse("cart:cart_add", args=[product.id]), {"quantity": quantity, **fields}, follow=True
    )


class TestCartInKorean:
    def test_the_cart_page_is_in_korean(self, lamp):
        mug = ProductFactory(name="Mug")
        ProductPair.objects.create(product=lamp, other=mug, count=1)
        client = korean_client()
        add(client, lamp, 3)  # one more than the stock: the page warns

        page = client.get(CART_URL)

        assert_korean_page(
            page,
            korean=[
                "장바구니",
                "수량",
                "단가",
                "금액",
                "재고가 2개 남았습니다.",
                "변경",
                "삭제",
                "합계",
                "쿠폰이 있으신가요?",
                "쿠폰 적용",
                "쇼핑 계속하기",
                "주문하기",
                "함께 구매한 상품",
                "장바구니: 3개",
                "$59.70",
            ],
            english=["Quantity", "Total", "Checkout", "Often bought", "Cart:"],
        )

    def test_an_empty_cart_says_so_in_korean(self):
        page = korean_client().get(CART_URL)

        assert_korean_page(
            page, korean=["장바구니가 비어 있습니다.", "상품 둘러보기"], english=["empty", "Browse"]
        )

    def test_adding_to_the_cart_says_what_was_added_in_korean(self, lamp):
        page = add(korean_client(), lamp, 2)

        assert messages_shown(page) == ["Desk lamp 2개를 장바구니에 담았습니다."]

    def test_adding_to_the_cart_says_what_was_added_in_english(self, lamp):
        page = add(Client(), lamp, 2)

        assert messages_shown(page) == ["Added 2 of Desk lamp to your cart."]

    def test_changing_a_quantity_and_the_most_one_order_takes_are_said_in_korean(self, lamp, settings):
        client = korean_client()
        assert messages_shown(add(client, lamp, 1, override=True)) == [
            "장바구니의 Desk lamp 수량을 1개로 변경했습니다."
        ]
        most = settings.CART_MAX_QUANTITY_PER_PRODUCT
        assert messages_shown(add(client, lamp, most)) == [
            f"장바구니에 Desk lamp {most}개가 담겨 있습니다. 한 번에 주문할 수 있는 최대 수량입니다."
        ]

    def test_a_quantity_out_of_range_is_refused_in_korean(self, lamp, settings):
        page = add(korean_client(), lamp, 0)

        most = settings.CART_MAX_QUANTITY_PER_PRODUCT
        assert messages_shown(page) == [f"수량은 1개에서 {most}개 사이로 선택해 주세요."]

    def test_a_product_gone_from_the_shop_leaves_the_cart_with_a_korean_notice(self, lamp):
        client = korean_client()
        add(client, lamp, 1)
        lamp.available = False
        lamp.save()

        page = client.get(CART_URL)

        assert messages_shown(page) == [
            "Desk lamp 상품은 더 이상 구매할 수 없어 장바구니에서 삭제되었습니다."
        ]
        assert "장바구니가 비어 있습니다." in shop_words(page)
