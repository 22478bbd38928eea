"""The cart page reads its lines' products through the catalog cache; checkout reads the database.

Each test that relies on the cache first shows that the second view reads no product, so it
fails with the cache off; the others show the freshness it promises (a change in this process
at once, one elsewhere within CATALOG_CACHE_SECONDS, a copy per language).
"""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.shop import catalog_cache
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from apps.shop.tests.test_catalog_cache import clock  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

CART = reverse("cart:cart_detail")


@pytest.fixture
def shopper(client, lamp):
    client.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 3})
    return client


def product_reads(client, url: str = CART) -> tuple[int, str]:
    """GET `url`; how many queries read the products table, and the page."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    reads = [q for q in captured.captured_queries
             if q["sql"].startswith("SELECT") and 'FROM "shop_product"' in q["sql"]
             and "recommendations_productpair" not in q["sql"]]
    return len(reads), response.content.decode()


def other_process_changes_price(product, price: str) -> None:
    # A save in another container: this process hears nothing of it.
    Product.objects.filter(id=product.id).update(price=Decimal(price))


class TestCartPageProducts:
    def test_a_second_view_reads_no_product(self, shopper):
        assert product_reads(shopper)[0] == 1
        reads, page = product_reads(shopper)
        assert reads == 0
        assert "Walnut Desk Lamp" in page and "$30.00" in page

    def test_zero_cache_seconds_reads_them_every_time(self, shopper, settings):
        settings.CATALOG_CACHE_SECONDS = 0
        product_reads(shopper)
        assert product_reads(shopper)[0] == 1

    def test_a_change_in_this_process_shows_at_once(self, shopper, lamp):
        assert product_reads(shopper)[0] == 1 and product_reads(shopper)[0] == 0
        lamp.price = Decimal("12.50")
        lamp.save()  # staff's save: the catalog cache forgets
        assert "$37.50" in product_reads(shopper)[1]

    def test_a_sale_in_this_process_shows_at_once(self, shopper, lamp):
        assert product_reads(shopper)[0] == 1 and product_reads(shopper)[0] == 0
        Product.objects.filter(id=lamp.id).update(stock=F("stock") - 1)
        catalog_cache.catalog_stock_changed([lamp.id])  # what checkout does after a sale
        assert "Only 2 left." in product_reads(shopper)[1]

    def test_a_product_withdrawn_in_this_process_leaves_the_cart_at_once(self, shopper, lamp):
        product_reads(shopper)
        lamp.available = False
        lamp.save()
        assert "is no longer available and was removed from your cart" in product_reads(shopper)[1]

    def test_a_change_elsewhere_shows_within_cache_seconds_and_at_once_at_checkout(self, shopper, lamp,
                                                                                  clock):  # noqa: F811
        product_reads(shopper)
        other_process_changes_price(lamp, "12.50")
        assert "$30.00" in product_reads(shopper)[1]
        # The checkout page, what an order is made from, reads the database.
        assert "$37.50" in shopper.get(reverse("orders:order_create")).content.decode()
        clock.advance(settings.CATALOG_CACHE_SECONDS - 0.5)
        assert "$30.00" in product_reads(shopper)[1]
        clock.advance(0.5)
        assert "$37.50" in product_reads(shopper)[1]

    def test_each_language_has_its_own_copy(self, shopper, monkeypatch):
        # A product holds words (its name): a copy read in one language never shows in another.
        monkeypatch.setattr(catalog_cache, "get_language", lambda: "en")
        assert product_reads(shopper)[0] == 1 and product_reads(shopper)[0] == 0
        monkeypatch.setattr(catalog_cache, "get_language", lambda: "ko")
        assert product_reads(shopper)[0] == 1 and product_reads(shopper)[0] == 0

    def test_a_product_made_available_again_elsewhere_stays_in_the_cart(self, shopper, lamp):
        # This process cached the lamp while it was withdrawn; staff put it back in another one.
        Product.objects.filter(id=lamp.id).update(available=False)
        catalog_cache.catalog_stock_changed([lamp.id])
        assert not catalog_cache.catalog_products([lamp.id])[lamp.id].available
        Product.objects.filter(id=lamp.id).update(available=True)

        reads, page = product_reads(shopper)

        # The cached copy says withdrawn; the database, asked before dropping a line, says not.
        assert reads == 1
        assert "Walnut Desk Lamp" in page and "no longer available" not in page
        assert shopper.session[settings.CART_SESSION_ID]["items"] == {str(lamp.id): 3}


def pairs_reads(client) -> tuple[int, str]:
    """GET the cart page; how many queries read the bought-together pairs, and the page."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CART)
    assert response.status_code == 200
    return sum("recommendations_productpair" in q["sql"] for q in captured.captured_queries), \
        response.content.decode()


@pytest.fixture
def partner(lamp):
    from apps.recommendations.models import ProductPair

    mug = ProductFactory(name="Stoneware Mug", price=Decimal("7.00"))
    ProductPair.objects.create(product=lamp, other=mug, count=3)
    return mug


class TestCartPageBoughtTogether:
    """What was bought with the cart's products comes through the catalog cache too
    (catalog_bought_together), with a page's promises."""

    def test_a_second_view_reads_no_pairs(self, shopper, partner):
        assert pairs_reads(shopper)[0] == 1
        reads, page = pairs_reads(shopper)
        assert reads == 0 and "Stoneware Mug" in page

    def test_zero_cache_seconds_reads_them_every_time(self, shopper, partner, settings):
        settings.CATALOG_CACHE_SECONDS = 0
        pairs_reads(shopper)
        assert pairs_reads(shopper)[0] == 1

    def test_a_partner_withdrawn_in_this_process_leaves_the_list_at_once(self, shopper, partner):
        assert pairs_reads(shopper)[0] == 1 and pairs_reads(shopper)[0] == 0
        partner.available = False
        partner.save()  # staff's save: the catalog cache forgets
        reads, page = pairs_reads(shopper)
        assert reads == 1 and "Stoneware Mug" not in page

    def test_a_count_elsewhere_shows_within_cache_seconds(self, shopper, lamp, partner, clock):  # noqa: F811
        from apps.recommendations.models import ProductPair

        shade = ProductFactory(name="Linen Shade")
        pairs_reads(shopper)
        # A paid order counted in another process: no product saved, nothing forgotten here.
        ProductPair.objects.create(product=lamp, other=shade, count=9)
        assert "Linen Shade" not in pairs_reads(shopper)[1]
        clock.advance(settings.CATALOG_CACHE_SECONDS)
        assert "Linen Shade" in pairs_reads(shopper)[1]
