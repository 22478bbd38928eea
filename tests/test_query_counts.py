"""Each shopper page costs a fixed number of queries, however large the catalog or the orders.

Counted with a cart of three lines in the session, so the session's own query is included, and
with "bought together" counts between those products and every other (so, like the catalog, the
pairs table grows with the parameter); in English and in Korean, with the catalog translated
(the Korean text is in the same rows: a language costs no query).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.coupons.models import Coupon
from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tests.checkout import checkout_form, place_order, placed_order_id
from apps.orders.tests.factories import CUSTOMER
from apps.recommendations.models import ProductPair
from apps.shop.models import Product
from apps.shop.tests.factories import CategoryFactory, ProductFactory


def build_catalog(size: int) -> list[Product]:
    categories = [CategoryFactory(name_ko=f"분류 {i}", slug_ko=f"분류-{i}") for i in range(3)]
    Product.objects.bulk_create(
        Product(
            category=categories[i % 3], name_en=f"Item {i:05}", slug_en=f"item-{i}",
            name_ko=f"상품 {i:05}", slug_ko=f"상품-{i}",
            price=Decimal("9.99"), stock=50, description_en="Bulk-made for query counts.",
            description_ko="쿼리 수를 세려고 만든 상품.",
        )
        for i in range(size - 3)
    )
    in_cart = [ProductFactory(category=categories[0], name_ko=f"장바구니 상품 {i}",
                              slug_ko=f"장바구니-상품-{i}") for i in range(3)]
    others = Product.objects.exclude(id__in=[p.id for p in in_cart]).values_list("id", flat=True)
    ProductPair.objects.bulk_create(
        pair for product in in_cart for other_id in others for pair in (
            ProductPair(product_id=product.id, other_id=other_id, count=other_id % 7 + 1),
            ProductPair(product_id=other_id, other_id=product.id, count=other_id % 7 + 1),
        )
    )
    return in_cart


@pytest.fixture(params=["en", "ko"])
def language(request):
    """The shopper's language: every URL reversed in it, every request saying it."""
    with translation.override(request.param):
        yield request.param
    translation.deactivate()


@pytest.fixture(params=[10, 1000], ids=["10-products", "1000-products"])
def shopper(request, client, db, language):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    in_cart = build_catalog(request.param)
    for product in in_cart:
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
    return client, in_cart


@pytest.fixture
def coupon_applied(shopper):
    now = timezone.now()
    Coupon.objects.create(code="SAVE10", discount=10, valid_from=now - timedelta(days=1),
                          valid_to=now + timedelta(days=1), max_uses=5)
    client, _ = shopper
    client.post(reverse("coupons:apply"), {"code": "save10"})
    return shopper


# session, categories, count for the paginator, the page of products
LIST_QUERIES = 4
# session, the product with its category, the products bought with it
DETAIL_QUERIES = 3
# session; its lines' products and what was bought with them come from the catalog cache
# (apps.shop.catalog_cache: catalog_products, catalog_bought_together), each read in one more
# query when it holds none (the first view)
CART_QUERIES = 1
CART_FIRST_VIEW_QUERIES = 3
# and the applied coupon (none without one)
COUPON_QUERIES = 1
# session, the orders placed from this cart's tokens (so that a cart whose checkout's outcome the
# session never recorded offers nothing again that was ordered), the cart's products. What the page
# showed is signed into the form, which costs no query.
CHECKOUT_FORM_QUERIES = 3
# Placing the order (POST of the checkout form): session; in its transaction (here a savepoint and
# its release) the cart's products locked, the orders consuming the cart's tokens and those grown
# from them (2), the unpaid-orders cap (its locks, then the address's and the session's orders
# in one query), the order, the cart's earlier tokens, its items, every line's stock taken (one
# UPDATE): 12. After the commit the broker's confirm is marked on the order in a transaction of
# its own (in production BEGIN, SET LOCAL, UPDATE, COMMIT; here a savepoint, UPDATE, release): 3.
ORDER_PLACED_QUERIES = 12 + 3
# The first view of the thank-you page: session, the orders placed from the cart's tokens, the
# settling write under the session row's lock (savepoint, SELECT ... FOR UPDATE, UPDATE, release;
# in production its own transaction), then the order and its items joined to their products.
THANK_YOU_QUERIES = 8

# The payment page, reloaded (the order's PaymentIntent exists, the cart settled): session, the
# order and its items joined to their products (2), then under the order's row lock (here a
# savepoint, its release; 2) the order's status and PaymentIntent id (1: the amount is the
# items'). Its first load after checkout also finds the order from the cart's tokens and settles
# the cart (that query, then the session row locked and written with their savepoint: 5) and
# stores the new PaymentIntent's id (1). The Stripe calls are HTTP, not queries.
PAYMENT_PAGE_QUERIES = 6
PAYMENT_PAGE_FIRST_LOAD_QUERIES = 12
# The card form's SetupIntent (POST /payment/setup/, on submit, after the page settled the cart,
# so no orders are looked for from its tokens): session, the order's status. The SetupIntent is
# HTTP.
PAYMENT_SETUP_QUERIES = 2


class TestQueryCounts:
    def test_product_list(self, shopper, django_assert_num_queries):
        client, _ = shopper
        with django_assert_num_queries(LIST_QUERIES):
            assert client.get(reverse("shop:product_list")).status_code == 200

    def test_category(self, shopper, django_assert_num_queries):
        client, in_cart = shopper
        with django_assert_num_queries(LIST_QUERIES):
            assert client.get(in_cart[0].category.get_absolute_url()).status_code == 200

    def test_product_detail(self, shopper, language, django_assert_num_queries):
        client, in_cart = shopper
        with django_assert_num_queries(DETAIL_QUERIES):
            response = client.get(in_cart[0].get_absolute_url())
        assert response.status_code == 200
        assert len(response.context["bought_together"]) == 4
        assert (response.context["product"].name == in_cart[0].name_ko) == (language == "ko")

    def test_cart_with_three_lines(self, shopper, django_assert_num_queries):
        client, _ = shopper
        with django_assert_num_queries(CART_FIRST_VIEW_QUERIES):
            client.get(reverse("cart:cart_detail"))
        with django_assert_num_queries(CART_QUERIES):
            response = client.get(reverse("cart:cart_detail"))
        # The page's kept copy (shop_project.page_copies): no template rendered, so no context.
        page = response.content.decode()
        assert page.count("/cart/remove/") == 3
        assert page.split('class="bought-together-list"')[1].count("<li>") == 4

    def test_cart_with_a_coupon(self, coupon_applied, django_assert_num_queries):
        client, _ = coupon_applied
        client.get(reverse("cart:cart_detail"))
        with django_assert_num_queries(CART_QUERIES + COUPON_QUERIES):
            response = client.get(reverse("cart:cart_detail"))
        discount_row = response.content.decode().split('<tr class="discount">')[1].split("</tr>")[0]
        assert "10%" in discount_row

    def test_checkout_form(self, shopper, django_assert_num_queries):
        client, _ = shopper
        with django_assert_num_queries(CHECKOUT_FORM_QUERIES):
            assert client.get(reverse("orders:order_create")).status_code == 200

    def test_checkout_places_the_order(self, shopper, django_assert_num_queries,
                                       django_capture_on_commit_callbacks):
        client, in_cart = shopper
        form = {**checkout_form(client), **CUSTOMER}
        with django_assert_num_queries(ORDER_PLACED_QUERIES):
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(reverse("orders:order_create"), form)
        assert placed_order_id(response) == Order.objects.get().id
        assert Order.objects.get().confirmation_status == ConfirmationStatus.QUEUED

    def test_thank_you_page(self, shopper, django_assert_num_queries):
        client, _ = shopper
        assert place_order(client).status_code == 302
        thank_you = reverse("orders:order_created", args=[Order.objects.latest("id").id])
        with django_assert_num_queries(THANK_YOU_QUERIES):
            assert client.get(thank_you).status_code == 200

    def test_checkout_form_with_a_coupon(self, coupon_applied, django_assert_num_queries):
        client, _ = coupon_applied
        with django_assert_num_queries(CHECKOUT_FORM_QUERIES + COUPON_QUERIES):
            response = client.get(reverse("orders:order_create"))
        assert response.context["totals"].discount_percent == 10

    def test_payment_page(self, shopper, localstripe, django_assert_num_queries):
        from apps.orders.tests.checkout import place_order

        client, _ = shopper
        placed = place_order(client)
        with django_assert_num_queries(PAYMENT_PAGE_FIRST_LOAD_QUERIES):
            assert client.get(placed.url).status_code == 200
        with django_assert_num_queries(PAYMENT_PAGE_QUERIES):
            assert client.get(placed.url).status_code == 200

    def test_payment_setup(self, shopper, localstripe, django_assert_num_queries):
        client, _ = shopper
        placed = place_order(client)
        client.get(placed.url)
        with django_assert_num_queries(PAYMENT_SETUP_QUERIES):
            assert client.post(placed.url.replace("/process/", "/setup/")).status_code == 200
