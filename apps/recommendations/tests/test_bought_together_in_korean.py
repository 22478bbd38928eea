"""The bought-together list of a product page in Korean."""

from decimal import Decimal

import pytest
from django.test import Client

from apps.recommendations.models import ProductPair
from apps.shop.tests.factories import ProductFactory
from tests.support.korean import assert_korean_page, korean_client

pytestmark = pytest.mark.django_db


class TestBoughtTogetherInKorean:
    def test_the_product_pages_list_is_headed_in_korean(self):
        lamp, mug = ProductFactory(name="Desk lamp"), ProductFactory(name="Mug", price=Decimal("7.50"))
        ProductPair.objects.create(product=lamp, other=mug, count=3)

        page = korean_client().get(lamp.get_absolute_url())

        assert_korean_page(page, korean=["이 상품을 구매한 고객이 함께 구매한 상품", "$7.50"],
                           english=["People who bought"])
        assert "People who bought this also bought" in Client().get(lamp.get_absolute_url()).content.decode()
