"""The catalog pages in Korean (Accept-Language: ko) and in English, from the database and from
the catalog cache, which keeps one page per language."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.shop.tests.factories import CategoryFactory, ProductFactory
from tests.support.korean import assert_korean_page, korean_client, shop_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp():
    return ProductFactory(name="Desk lamp", category=CategoryFactory(name="Lighting"),
                          price=Decimal("1234.50"), stock=3)


class TestCatalogInKorean:
    def test_the_product_list_is_in_korean(self, lamp, settings):
        settings.PRODUCTS_PER_PAGE = 1
        ProductFactory()

        page = korean_client().get(reverse("shop:product_list"))

        assert_korean_page(page, korean=["카테고리", "전체 상품", "전체", "2페이지 중 1페이지", "다음"],
                           english=["Categories", "Products", "Page 1 of 2", "Next"])
        assert "$1,234.50" in shop_words(page)

    def test_a_product_page_is_in_korean_with_its_stock_and_add_to_cart_form(self, lamp):
        page = korean_client().get(lamp.get_absolute_url())

        assert_korean_page(page, korean=["재고가 3개 남았습니다.", "수량", "장바구니에 담기", "$1,234.50"],
                           english=["Only 3 left", "Add to cart", "Quantity"])
        assert "Desk lamp" in page.content.decode()  # product data stays as staff wrote it

    def test_an_empty_category_and_a_sold_out_product_say_so_in_korean(self, lamp):
        empty = CategoryFactory()
        sold_out = ProductFactory(stock=0)

        assert_korean_page(korean_client().get(empty.get_absolute_url()),
                           korean=["아직 등록된 상품이 없습니다."], english=["No products"])
        assert_korean_page(korean_client().get(sold_out.get_absolute_url()),
                           korean=["재고 없음"], english=["Out of stock"])

    def test_the_catalog_cache_keeps_a_page_per_language(self, lamp, django_assert_num_queries):
        korean_client().get(lamp.get_absolute_url())
        english = Client().get(lamp.get_absolute_url())
        with django_assert_num_queries(0):  # from the cache
            korean_again = korean_client().get(lamp.get_absolute_url())

        assert "장바구니에 담기" in korean_again.content.decode()
        assert "Add to cart" in english.content.decode() and "장바구니" not in english.content.decode()

    def test_english_stays_the_default(self, lamp):
        page = Client().get(lamp.get_absolute_url())

        assert "Only 3 left." in page.content.decode() and "Add to cart" in page.content.decode()

    def test_the_add_to_cart_form_rendered_once_per_process_is_kept_per_language(self, lamp):
        from apps.cart.templatetags.cart_tags import cart_add_form

        with translation.override("ko"):
            korean = cart_add_form(lamp)["fields"]
        with translation.override("en"):
            english = cart_add_form(lamp)["fields"]

        assert "수량" in korean and "Quantity" in english
