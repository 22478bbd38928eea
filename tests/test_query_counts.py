"""Each shopper page costs a fixed number of queries, however large the catalog.

Counted with a cart of three lines in the session, so the session's own query is included.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.shop.models import Product
from apps.shop.tests.factories import CategoryFactory, ProductFactory


def build_catalog(size: int) -> list[Product]:
    categories = CategoryFactory.create_batch(3)
    Product.objects.bulk_create(
        Product(
            category=categories[i % 3], name=f"Item {i:05}", slug=f"item-{i}",
            price=Decimal("9.99"), stock=50, description="Bulk-made for query counts.",
        )
        for i in range(size - 3)
    )
    return [ProductFactory(category=categories[0]) for _ in range(3)]


@pytest.fixture(params=[10, 1000], ids=["10-products", "1000-products"])
def shopper(request, client, db):
    in_cart = build_catalog(request.param)
    for product in in_cart:
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
    return client, in_cart


# session, categories, count for the paginator, the page of products
LIST_QUERIES = 4
# session, the product with its category
DETAIL_QUERIES = 2
# session, the cart's products in one query
CART_QUERIES = 2
# session, the orders placed from this cart's tokens (so that a cart whose checkout's outcome the
# session never recorded offers nothing again that was ordered), the cart's products. What the page
# showed is signed into the form, which costs no query.
CHECKOUT_FORM_QUERIES = 3
# The payment page, reloaded (the order's PaymentIntent exists, the cart settled): session, the
# order with its items and their products (3), then under the order's row lock (here a
# savepoint, its release; 2) the locked order and its items for the amount (2). Its first load
# after checkout also finds the order from the cart's tokens and settles the cart (that query,
# then the session row locked and written with their savepoint: 5) and stores the new
# PaymentIntent's id (1). The Stripe calls are HTTP, not queries.
PAYMENT_PAGE_QUERIES = 8
PAYMENT_PAGE_FIRST_LOAD_QUERIES = 14


class TestQueryCounts:
    def test_product_list(self, shopper, django_assert_num_queries):
        client, _ = shopper
        with django_assert_num_queries(LIST_QUERIES):
            assert client.get(reverse("shop:product_list")).status_code == 200

    def test_category(self, shopper, django_assert_num_queries):
        client, in_cart = shopper
        with django_assert_num_queries(LIST_QUERIES):
            assert client.get(in_cart[0].category.get_absolute_url()).status_code == 200

    def test_product_detail(self, shopper, django_assert_num_queries):
        client, in_cart = shopper
        with django_assert_num_queries(DETAIL_QUERIES):
            assert client.get(in_cart[0].get_absolute_url()).status_code == 200

    def test_cart_with_three_lines(self, shopper, django_assert_num_queries):
        client, _ = shopper
        with django_assert_num_queries(CART_QUERIES):
            response = client.get(reverse("cart:cart_detail"))
        assert len(response.context["cart"].lines()) == 3

    def test_checkout_form(self, shopper, django_assert_num_queries):
        client, _ = shopper
        with django_assert_num_queries(CHECKOUT_FORM_QUERIES):
            assert client.get(reverse("orders:order_create")).status_code == 200

    def test_payment_page(self, shopper, localstripe, django_assert_num_queries):
        from apps.orders.tests.checkout import place_order

        client, _ = shopper
        placed = place_order(client)
        with django_assert_num_queries(PAYMENT_PAGE_FIRST_LOAD_QUERIES):
            assert client.get(placed.url).status_code == 200
        with django_assert_num_queries(PAYMENT_PAGE_QUERIES):
            assert client.get(placed.url).status_code == 200
