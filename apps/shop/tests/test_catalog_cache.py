"""The catalog cache: what it serves from memory, and the freshness it promises.

A first visitor (no session, no notices) gets list, category and product pages from this
process's cache; a page is never served more than CATALOG_CACHE_SECONDS after its reads began,
and a change made in this process shows at once. Every test of a cached page first shows that
the page comes from the cache, so each fails with the cache turned off (CATALOG_CACHE_SECONDS=0
or a DummyCache); the others say what holds for shoppers with a session.
"""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.shop import catalog_cache
from apps.shop.catalog_cache import CatalogPage
from apps.shop.models import Category, Product
from apps.shop.tests.factories import CategoryFactory, ProductFactory

# What a first visit costs when the page is not in the cache (there is no session to read).
LIST_QUERIES = 3  # categories, count for the paginator, the page of products
DETAIL_QUERIES = 2  # the product with its category, what was bought with it
NOT_FOUND_QUERIES = 1  # the product, not found


class Clock:
    """Stands in for the catalog cache's monotonic clock: tests move time instead of waiting."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(catalog_cache, "monotonic", clock)
    return clock


@pytest.fixture
def product(db):
    return ProductFactory(name="Walnut Desk Lamp", price=Decimal("10.00"), stock=3,
                          category=CategoryFactory(name="Lamps", slug="lamps"))


def page_url(page: str, product: Product) -> str:
    return {
        "list": reverse("shop:product_list"),
        "category": product.category.get_absolute_url(),
        "detail": product.get_absolute_url(),
    }[page]


def first_visit(url: str, **query):
    """A GET by a new visitor: no cookies at all."""
    return Client().get(url, query)


def body(url: str, **query) -> str:
    response = first_visit(url, **query)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def assert_cached(url: str, django_assert_num_queries, **query) -> None:
    """Visits twice; the second visit must not touch the database."""
    first_visit(url, **query)
    with django_assert_num_queries(0):
        assert first_visit(url, **query).status_code == 200


PAGES = ["list", "category", "detail"]


@pytest.mark.django_db
class TestCatalogCacheServesFirstVisitors:
    @pytest.mark.parametrize("page", PAGES)
    def test_a_second_visit_reads_nothing_from_the_database(self, product, page, django_assert_num_queries):
        url = page_url(page, product)
        first_visit(url)
        with django_assert_num_queries(0):
            again = first_visit(url)
        assert again.status_code == 200
        assert "Walnut Desk Lamp" in again.content.decode()

    def test_made_up_page_numbers_are_not_cached(self, product, django_assert_num_queries):
        ProductFactory.create_batch(2)
        assert_cached(reverse("shop:product_list"), django_assert_num_queries, page="1")
        for _ in range(2):
            # Every visit makes the page again: a crawler's page numbers never fill the cache.
            with django_assert_num_queries(LIST_QUERIES):
                response = first_visit(reverse("shop:product_list"), page="999999")
            assert response.status_code == 200
            assert "Page" not in response.content.decode()  # the last page: 3 products, one page

    def test_an_unknown_product_is_not_cached(self, product, django_assert_num_queries):
        assert_cached(product.get_absolute_url(), django_assert_num_queries)
        hidden = ProductFactory(name="Brass Lamp", available=False)
        for _ in range(2):
            with django_assert_num_queries(NOT_FOUND_QUERIES):
                assert first_visit(hidden.get_absolute_url()).status_code == 404
        # Made available by a write this process hears nothing of: its 404 was not kept.
        Product.objects.filter(id=hidden.id).update(available=True)
        assert "Brass Lamp" in body(hidden.get_absolute_url())

    def test_zero_cache_seconds_turns_the_cache_off(self, product, settings, django_assert_num_queries):
        settings.CATALOG_CACHE_SECONDS = 0
        first_visit(product.get_absolute_url())
        with django_assert_num_queries(DETAIL_QUERIES):
            assert first_visit(product.get_absolute_url()).status_code == 200


@pytest.mark.django_db
class TestCatalogCacheFreshness:
    @pytest.mark.parametrize("page", PAGES)
    def test_a_page_is_served_until_it_is_cache_seconds_old_and_never_after(self, product, page, clock):
        url = page_url(page, product)
        assert "Walnut Desk Lamp" in body(url)
        # Another process renames the product: this process's cache hears nothing of it.
        Product.objects.filter(id=product.id).update(name_en="Oak Desk Lamp")
        clock.advance(settings.CATALOG_CACHE_SECONDS - 0.5)
        assert "Walnut Desk Lamp" in body(url)  # still the page made a moment ago
        clock.advance(0.5)
        assert "Oak Desk Lamp" in body(url)  # CATALOG_CACHE_SECONDS old: made again

    def test_a_page_made_again_is_fresh_for_cache_seconds_from_then(self, product, clock):
        url = product.get_absolute_url()
        body(url)
        clock.advance(settings.CATALOG_CACHE_SECONDS)
        Product.objects.filter(id=product.id).update(price=Decimal("11.00"))
        assert "$11.00" in body(url)
        Product.objects.filter(id=product.id).update(price=Decimal("12.00"))
        clock.advance(settings.CATALOG_CACHE_SECONDS - 0.5)
        assert "$11.00" in body(url)
        clock.advance(0.5)
        assert "$12.00" in body(url)

    def test_a_page_ages_from_when_its_reads_began(self, db, clock):
        request = RequestFactory().get("/")
        built = []

        def slow_build(name: str) -> CatalogPage:
            built.append(name)
            clock.advance(10)  # reads that take a while: the data is as old as their start
            return CatalogPage("shop/product/list.html", {"category": {"name": name}, "products": []})

        def serve(name: str) -> str:
            return catalog_cache.serve(request, "test:page", lambda: slow_build(name)).content.decode()

        assert "First" in serve("First")
        clock.advance(settings.CATALOG_CACHE_SECONDS - 10.5)
        assert "First" in serve("Not Built")
        clock.advance(0.5)
        assert "Second" in serve("Second")
        assert built == ["First", "Second"]

    def test_shoppers_with_a_session_always_see_the_database(self, client, product):
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
        assert "$10.00" in client.get(product.get_absolute_url()).content.decode()
        Product.objects.filter(id=product.id).update(price=Decimal("11.00"))
        assert "$11.00" in client.get(product.get_absolute_url()).content.decode()


def rename_product(product):
    product.name = "Oak Desk Lamp"
    product.save()


def change_price(product):
    product.price = Decimal("12.50")
    product.save()


def sell_one(product):
    # What checkout does: take stock with an F() update (no signal), then say so.
    Product.objects.filter(id=product.id).update(stock=F("stock") - 1)
    catalog_cache.catalog_stock_changed([product.id])


def sell_out(product):
    Product.objects.filter(id=product.id).update(stock=0)
    catalog_cache.catalog_stock_changed([product.id])


def rename_category(product):
    category = Category.objects.get(id=product.category_id)
    category.name = "Desk Lights"
    category.save()


def withdraw(product):
    product.available = False
    product.save()


def delete(product):
    product.delete()


def add_another(product):
    ProductFactory(name="Brass Desk Lamp", category=product.category)


# change, the page, what it shows at once (a string, or 404)
CHANGES = [
    (rename_product, "list", "Oak Desk Lamp"),
    (rename_product, "detail", "Oak Desk Lamp"),
    (change_price, "category", "$12.50"),
    (change_price, "detail", "$12.50"),
    (sell_one, "detail", "Only 2 left."),
    (sell_out, "detail", "Out of stock."),
    (rename_category, "list", "Desk Lights"),
    (rename_category, "detail", "Desk Lights"),
    (withdraw, "category", "No products here yet."),
    (withdraw, "detail", 404),
    (delete, "detail", 404),
    (delete, "list", "No products here yet."),
    (add_another, "category", "Brass Desk Lamp"),
]


@pytest.mark.django_db
class TestCatalogChanged:
    @pytest.mark.parametrize(
        ("change", "page", "shows"), CHANGES, ids=[f"{c.__name__}-{p}" for c, p, _ in CHANGES]
    )
    def test_a_change_in_this_process_shows_at_once(
        self, product, change, page, shows, django_assert_num_queries
    ):
        url = page_url(page, product)
        assert_cached(url, django_assert_num_queries)
        change(product)
        response = first_visit(url)
        if shows == 404:
            assert response.status_code == 404
        else:
            assert response.status_code == 200
            assert shows in response.content.decode()

    def test_a_page_made_before_a_change_commits_is_not_served_after(
        self, product, django_capture_on_commit_callbacks, django_assert_num_queries
    ):
        url = product.get_absolute_url()
        assert_cached(url, django_assert_num_queries)
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                catalog_cache.catalog_changed()
                # Until the commit, other requests of this process read the stock as it was
                # and cache what they saw: the page made here stands for one of them.
                assert "Only 3 left." in body(url)
                Product.objects.filter(id=product.id).update(stock=F("stock") - 1)
        assert "Only 2 left." in body(url)

    def test_a_page_being_made_while_the_catalog_changes_is_not_kept(self, db):
        request = RequestFactory().get("/")
        built = []

        def build(name: str, *, changed_meanwhile: bool = False) -> CatalogPage:
            built.append(name)
            if changed_meanwhile:
                catalog_cache.catalog_changed()  # a save committed while this page was made
            return CatalogPage("shop/product/list.html", {"category": {"name": name}, "products": []})

        def serve(name: str, **how) -> str:
            return catalog_cache.serve(request, "test:page", lambda: build(name, **how)).content.decode()

        assert "Made Before" in serve("Made Before")
        assert "Made Before" in serve("Not Built")  # from the cache
        catalog_cache.catalog_changed()
        assert "Made During" in serve("Made During", changed_meanwhile=True)
        assert "Made After" in serve("Made After")
        assert built == ["Made Before", "Made During", "Made After"]


@pytest.mark.django_db
class TestCatalogStockChanged:
    """Only a product's own page shows its stock: a sale forgets that page and keeps the rest."""

    @pytest.fixture
    def other(self, product):
        return ProductFactory(name="Brass Desk Lamp", stock=4, category=product.category)

    def test_only_the_sold_products_pages_are_made_again(self, product, other, django_assert_num_queries):
        kept = [page_url(page, product) for page in ["list", "category"]] + [other.get_absolute_url()]
        for url in [*kept, product.get_absolute_url()]:
            assert_cached(url, django_assert_num_queries)
        sell_one(product)
        assert "Only 2 left." in body(product.get_absolute_url())
        with django_assert_num_queries(0):
            pages = [first_visit(url) for url in kept]
        assert [page.status_code for page in pages] == [200, 200, 200]
        assert "Only 4 left." in pages[2].content.decode()

    def test_a_product_page_made_before_the_sale_commits_is_not_served_after(
        self, product, other, django_capture_on_commit_callbacks, django_assert_num_queries
    ):
        url = product.get_absolute_url()
        assert_cached(url, django_assert_num_queries)
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                catalog_cache.catalog_stock_changed([product.id, other.id])
                assert "Only 3 left." in body(url)  # another request, reading the stock as it was
                Product.objects.filter(id=product.id).update(stock=F("stock") - 1)
        assert "Only 2 left." in body(url)

    def test_a_product_page_being_made_during_the_sale_is_not_kept(self, db):
        request = RequestFactory().get("/")
        built = []

        def build(name: str, *, sold_meanwhile: bool = False) -> CatalogPage:
            built.append(name)
            if sold_meanwhile:
                catalog_cache.catalog_stock_changed([7])
            return CatalogPage("shop/product/list.html", {"category": {"name": name}, "products": []})

        def serve(name: str, **how) -> str:
            page = catalog_cache.serve(request, "test:product:7", lambda: build(name, **how), product_id=7)
            return page.content.decode()

        assert "Made Before" in serve("Made Before")
        assert "Made Before" in serve("Not Built")  # from the cache
        catalog_cache.catalog_stock_changed([7])
        assert "Made During" in serve("Made During", sold_meanwhile=True)
        assert "Made After" in serve("Made After")
        assert "Made After" in serve("Not Built")
        assert built == ["Made Before", "Made During", "Made After"]

    def test_a_change_after_a_sale_still_shows_at_once_on_the_sold_products_page(
        self, product, django_assert_num_queries
    ):
        url = product.get_absolute_url()
        sell_one(product)
        assert_cached(url, django_assert_num_queries)  # made after the sale: kept
        rename_category(product)  # catalog_changed(), through the signal
        assert "Desk Lights" in body(url)


@pytest.mark.django_db
class TestProductPageForNewVisitors:
    def test_is_served_from_the_cache_with_a_fresh_csrf_token_and_cookie(
        self, product, django_assert_num_queries
    ):
        Client().get(product.get_absolute_url())  # renders and caches the page
        visitor = Client(enforce_csrf_checks=True)
        with django_assert_num_queries(0):
            page = visitor.get(product.get_absolute_url())
        html = page.content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        assert catalog_cache.CSRF_TOKEN_SLOT not in html
        assert "Cookie" in page["Vary"]
        form = {"quantity": 1, "csrfmiddlewaretoken": token}
        added = visitor.post(reverse("cart:cart_add", args=[product.id]), form)
        assert added.status_code == 302  # the token and the cookie it came with are accepted

    def test_a_shopper_with_a_cart_sees_the_cart_in_the_header(self, client, product):
        client.get(product.get_absolute_url())
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 2})
        assert "Cart: 2 items" in client.get(product.get_absolute_url()).content.decode()
