"""A product page for a shopper with a session: read from the database every time, rendered once
per content (shop_project.page_copies) and shared only with requests whose pages would be the same.

The test that relies on the copy first shows that a view rendered no template (the test client's
response.context is None then), so it fails with the copies off; the others change, in another
process (a queryset update: this process hears nothing), what the page shows, the product's
category included (loaded with it), and see it at once.
"""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from apps.shop.models import Category, Product
from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamp():
    return ProductFactory(name="Walnut Desk Lamp", price=Decimal("10.00"), stock=5)


@pytest.fixture
def shopper(client, lamp):
    client.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
    client.get(reverse("cart:cart_detail"))  # the add's notice, shown
    return client


def product_page(client, product):
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    return response


class TestProductPageCopies:
    def test_a_second_view_renders_no_template_and_still_reads_the_database(
        self, shopper, lamp, django_assert_num_queries
    ):
        assert product_page(shopper, lamp).context is not None
        with django_assert_num_queries(3):  # session, the product, what was bought with it
            again = product_page(shopper, lamp)
        assert again.context is None
        assert "Cart: 1 item" in again.content.decode()

    def test_a_sale_elsewhere_shows_at_once(self, shopper, lamp):
        product_page(shopper, lamp)
        Product.objects.filter(id=lamp.id).update(stock=2)
        assert "Only 2 left." in product_page(shopper, lamp).content.decode()

    def test_a_category_renamed_elsewhere_shows_at_once(self, shopper, lamp):
        product_page(shopper, lamp)
        Category.objects.filter(id=lamp.category_id).update(name_en="Reading Lights")
        assert "Reading Lights" in product_page(shopper, lamp).content.decode()

    def test_the_header_shows_this_shoppers_cart(self, shopper, lamp):
        product_page(shopper, lamp)
        other = Client()
        other.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 3})
        other.get(reverse("cart:cart_detail"))
        assert "Cart: 3 items" in product_page(other, lamp).content.decode()
        assert "Cart: 1 item" in product_page(shopper, lamp).content.decode()
