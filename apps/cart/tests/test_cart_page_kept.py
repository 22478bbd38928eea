"""The cart page kept whole by its contents (apps.shop.catalog_cache.catalog_cart_page).

A second view of the same cart costs the session's query and nothing else; the copy holds the
promises of the catalog reads it was made from. A view served from the copy builds no page (the
view's _cart_page is never called), which `kept()` counts: a warm cart page made afresh also
costs only the session's query, its reads coming from the catalog cache, so queries cannot
tell. Each test that relies on the copy shows `kept()` first, so it fails with the copy off;
the others show that it is never served when the page would differ.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.coupons.models import Coupon
from apps.coupons.tests.factories import CouponFactory
from apps.recommendations.models import ProductPair
from apps.shop import catalog_cache
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from apps.shop.tests.test_catalog_cache import clock  # noqa: F401 - the fixture
from shop_project.page_copies import CSRF_TOKEN_SLOT
from tests.support.messages import page_messages

pytestmark = pytest.mark.django_db

CART = reverse("cart:cart_detail")


@pytest.fixture
def shopper(client, lamp):
    client.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
    client.get(CART)  # the add's notice, shown once
    return client


def view(client) -> tuple[int, str]:
    """GET the cart page: its queries and its HTML."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CART)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.fixture(autouse=True)
def builds(monkeypatch) -> list[int]:
    """Counts the cart pages built (apps.cart.views._cart_page calls)."""
    from apps.cart import views

    made, build = [], views._cart_page
    monkeypatch.setattr(views, "_cart_page", lambda *args: made.append(1) or build(*args))
    return made


def kept(client, builds: list[int]) -> bool:
    """Whether the page came from its kept copy: it was not built, and cost the session's query."""
    before = len(builds)
    queries, _ = view(client)
    return len(builds) == before and queries == 1


class TestCartPageKept:
    def test_a_second_view_is_the_copy_and_makes_only_the_sessions_query(self, shopper, builds):
        view(shopper)
        assert kept(shopper, builds)
        page = view(shopper)[1]
        assert "Walnut Desk Lamp" in page and "$10.00" in page

    def test_the_copy_has_this_visitors_csrf_token_and_its_form_works(self, shopper, lamp, builds):
        view(shopper)
        other = Client(enforce_csrf_checks=True)
        other.get(lamp.get_absolute_url())  # the CSRF cookie, from its add-to-cart form
        secret = other.cookies[settings.CSRF_COOKIE_NAME].value
        other.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1, "csrfmiddlewaretoken": secret})
        other.get(CART)  # its notice
        assert kept(other, builds)
        page = other.get(CART).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        assert CSRF_TOKEN_SLOT not in page
        remove = other.post(reverse("cart:cart_remove", args=[lamp.id]), {"csrfmiddlewaretoken": token})
        assert remove.status_code == 302

    def test_each_language_has_its_own_copy(self, shopper, builds):
        view(shopper)
        assert kept(shopper, builds)
        with translation.override("ko"):
            korean = shopper.get(reverse("cart:cart_detail")).content.decode()  # /ko/cart/
        assert '<html lang="ko">' in korean
        assert '<html lang="en">' in view(shopper)[1]

    def test_a_catalog_change_in_this_process_makes_a_new_page(self, shopper, builds):
        view(shopper)
        catalog_cache.catalog_changed()  # a category renamed, say
        assert not kept(shopper, builds)

    def test_zero_cache_seconds_keeps_nothing(self, builds, shopper, settings):
        settings.CATALOG_CACHE_SECONDS = 0
        view(shopper)
        assert not kept(shopper, builds)

    def test_another_shopper_with_the_same_cart_gets_the_copy(self, builds, shopper, lamp):
        view(shopper)
        other = Client()
        other.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
        other.get(CART)  # its notice
        assert kept(other, builds)

    def test_other_contents_are_another_page(self, shopper, lamp):
        view(shopper)
        shopper.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
        shopper.get(CART)  # the add's notice: a page made for its visitor alone
        page = view(shopper)[1]
        assert "$20.00" in page and "Cart: 2 items" in page

    def test_a_sale_of_another_product_keeps_it_and_of_its_line_does_not(self, builds, shopper, lamp):
        mug = ProductFactory(name="Stoneware Mug")
        view(shopper)
        catalog_cache.catalog_stock_changed([mug.id])  # what checkout does after selling a mug
        assert kept(shopper, builds)
        Product.objects.filter(id=lamp.id).update(stock=0)  # the last lamps sold
        catalog_cache.catalog_stock_changed([lamp.id])
        queries, page = view(shopper)
        assert queries > 1 and "Only 0 left." in page

    def test_kept_no_longer_than_the_oldest_product_read_it_shows(self, builds, shopper, lamp, clock):  # noqa: F811
        # The lamp was read for another page (a cart of two) before this cart's page was made.
        mug = ProductFactory(name="Stoneware Mug")
        catalog_cache.catalog_products([lamp.id, mug.id])
        clock.advance(settings.CATALOG_CACHE_SECONDS / 2)
        view(shopper)  # made from that read
        assert kept(shopper, builds)
        Product.objects.filter(id=lamp.id).update(price=Decimal("12.50"))  # in another process
        clock.advance(settings.CATALOG_CACHE_SECONDS / 2 - 0.5)
        assert "$10.00" in view(shopper)[1]
        clock.advance(0.5)  # the read it shows is CATALOG_CACHE_SECONDS old: so is the page
        assert "$12.50" in view(shopper)[1]

    def test_kept_no_longer_than_the_bought_together_read_it_shows(self, builds, shopper, lamp, clock):  # noqa: F811
        # Made after the shopper's first views: the mug's save forgot the list they cached.
        mug = ProductFactory(name="Stoneware Mug")
        ProductPair.objects.create(product=lamp, other=mug, count=2)
        catalog_cache.catalog_bought_together([lamp.id])
        clock.advance(settings.CATALOG_CACHE_SECONDS / 2)
        assert "Stoneware Mug" in view(shopper)[1]
        assert kept(shopper, builds)
        ProductPair.objects.filter(product=lamp).delete()  # counted anew in another process
        clock.advance(settings.CATALOG_CACHE_SECONDS / 2)
        assert "Stoneware Mug" not in view(shopper)[1]

    def test_a_page_with_a_coupon_is_made_every_time(self, builds, shopper):
        coupon = CouponFactory(code="SAVE10", discount=10)
        shopper.post(reverse("coupons:apply"), {"code": "save10"})
        shopper.get(CART)  # its notice
        view(shopper)
        assert not kept(shopper, builds)
        # Used up in another process: the next view says so.
        Coupon.objects.filter(id=coupon.id).update(valid_to=timezone.now() - timedelta(seconds=1))
        response = shopper.get(CART)
        assert page_messages(response)[-1].endswith("It was removed from your cart.")

    def test_a_page_with_notices_is_never_the_copy(self, shopper, lamp):
        view(shopper)
        shopper.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})
        shopper.post(reverse("cart:cart_remove", args=[lamp.id]))
        shopper.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 1})  # the kept contents
        response = shopper.get(CART)
        assert "Added 1 of" in response.content.decode()

    def test_a_damaged_session_value_is_repaired_not_kept(self, builds, shopper, lamp):
        view(shopper)
        session = shopper.session
        session[settings.CART_SESSION_ID]["items"]["not-an-id"] = 2
        session.save()
        assert not kept(shopper, builds)
        assert shopper.session[settings.CART_SESSION_ID]["items"] == {str(lamp.id): 1}
