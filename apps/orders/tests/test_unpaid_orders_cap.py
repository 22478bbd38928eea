"""At most SHOP_MAX_UNPAID_ORDERS open unpaid orders per e-mail address and per session: one
client cannot reserve the whole catalog by checking out and never paying."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.orders.models import Order, OrderStatus
from apps.orders.placed_orders import session_reference
from apps.orders.tests.checkout import checkout_form, place_order, placed_order_id
from apps.orders.tests.factories import CUSTOMER, OrderFactory
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory

LIMIT = 2
REFUSED = f"You already have {LIMIT} unpaid orders waiting."


@pytest.fixture(autouse=True)
def limit(settings):
    settings.SHOP_MAX_UNPAID_ORDERS = LIMIT


def shopper_with_cart(product, client=None) -> Client:
    client = client or Client()
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
    return client


def open_orders(email: str, count: int, **fields) -> list[Order]:
    deadline = timezone.now() + timedelta(minutes=30)
    return [OrderFactory(**{**CUSTOMER, "email": email, **fields}, payment_deadline=deadline)
            for _ in range(count)]


def placed(response) -> bool:
    return placed_order_id(response) is not None


@pytest.mark.django_db
class TestUnpaidOrdersCap:
    def test_checkout_sets_the_payment_deadline_and_the_session(self, settings):
        settings.SHOP_PAYMENT_TIMEOUT_MINUTES = 30
        client = shopper_with_cart(ProductFactory(stock=5))

        before = timezone.now()
        assert placed(place_order(client))

        order = Order.objects.get()
        timeout = timedelta(minutes=30)
        assert before + timeout <= order.payment_deadline <= timezone.now() + timeout
        assert order.session_ref == session_reference(client.session)
        assert client.session.session_key not in order.session_ref

    def test_address_at_the_limit_is_refused_in_any_case_and_nothing_is_taken(self):
        product = ProductFactory(stock=5)
        open_orders(CUSTOMER["email"].upper(), LIMIT)
        client = shopper_with_cart(product)

        response = place_order(client)

        assert response.status_code == 200
        assert REFUSED in response.content.decode()
        assert Order.objects.count() == LIMIT
        assert Product.objects.get(id=product.id).stock == 5

    def test_paid_cancelled_and_pre_payment_orders_do_not_count(self):
        open_orders(CUSTOMER["email"], 1, status=OrderStatus.PAID, paid=True)
        open_orders(CUSTOMER["email"], 1, status=OrderStatus.CANCELLED)
        # From before payments: awaiting payment for ever, with no deadline.
        OrderFactory(**CUSTOMER)
        OrderFactory(**CUSTOMER)
        open_orders(CUSTOMER["email"], LIMIT - 1)

        assert placed(place_order(shopper_with_cart(ProductFactory(stock=5))))

    def test_session_at_the_limit_is_refused_whatever_the_address(self):
        client = Client()
        for number in range(LIMIT):
            shopper_with_cart(ProductFactory(stock=5), client)
            assert placed(place_order(client, {**CUSTOMER, "email": f"shopper{number}@example.com"}))
        shopper_with_cart(ProductFactory(stock=5), client)

        response = place_order(client, {**CUSTOMER, "email": "yet-another@example.com"})

        assert REFUSED in response.content.decode()
        assert Order.objects.count() == LIMIT
        # Another session, another address: not concerned.
        other = shopper_with_cart(ProductFactory(stock=5))
        assert placed(place_order(other, {**CUSTOMER, "email": "someone-else@example.com"}))

    def test_each_count_has_its_own_limit(self):
        # LIMIT - 1 of the address's and LIMIT - 1 of the session's: under each limit, so the
        # order is placed, and it is the session's LIMIT-th: its next one is refused.
        client = shopper_with_cart(ProductFactory(stock=5))
        open_orders(CUSTOMER["email"], LIMIT - 1)
        open_orders("other@example.com", LIMIT - 1, session_ref=session_reference(client.session))
        assert placed(place_order(client))

        shopper_with_cart(ProductFactory(stock=5), client)
        assert REFUSED in place_order(client, {**CUSTOMER, "email": "third@example.com"}).content.decode()

    def test_an_address_far_over_the_limit_is_refused(self):
        # Placed by staff, or from before the cap was lowered: far more than the limit, of which
        # the cap reads a bounded few.
        open_orders(CUSTOMER["email"].lower(), 5 * LIMIT)

        assert REFUSED in place_order(shopper_with_cart(ProductFactory(stock=5))).content.decode()

    def test_a_paid_order_frees_a_place(self):
        first, _ = open_orders(CUSTOMER["email"], LIMIT)
        Order.objects.filter(id=first.id).update(status=OrderStatus.PAID, paid=True)

        assert placed(place_order(shopper_with_cart(ProductFactory(stock=5))))


def _cart_token(client: Client) -> str:
    return client.session[django_settings.CART_SESSION_ID]["token"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestUnpaidOrdersCapUnderConcurrency:
    def test_two_checkouts_of_one_address_at_the_limit_place_one_order(self):
        from apps.payment.tests.races import OtherSession, run_together, wait_until_sessions_wait_for_locks

        open_orders(CUSTOMER["email"], LIMIT - 1)
        template = OrderFactory(status=OrderStatus.PAID)  # a row to copy, which the cap ignores
        # Different products: the checkouts share no product lock that would queue them.
        shoppers = [shopper_with_cart(ProductFactory(stock=5)) for _ in range(2)]
        forms = [{**checkout_form(client), **CUSTOMER} for client in shoppers]
        # Another session inserts, without committing, orders with the two carts' tokens: each
        # checkout's INSERT of its order waits on the unique index until that session rolls
        # back, which holds both between counting the address's orders and committing.
        columns = [f.column for f in Order._meta.concrete_fields if f.column not in ("id", "cart_token")]
        listed = ", ".join(connection.ops.quote_name(column) for column in columns)
        other = OtherSession()
        for client in shoppers:
            other.execute(
                f"INSERT INTO orders_order ({listed}, cart_token) SELECT {listed}, %s FROM orders_order WHERE id = %s",  # noqa: E501
                [_cart_token(client), template.id],
            )

        responses = run_together(
            [lambda c=client, f=form: c.post(reverse("orders:order_create"), f)
             for client, form in zip(shoppers, forms, strict=True)],
            while_running=lambda: wait_until_sessions_wait_for_locks(2),
            finally_=other.rollback,
        )

        outcomes = sorted("placed" if placed(r) else ("refused" if REFUSED in r.content.decode() else repr(r))
                          for r in responses)
        assert outcomes == ["placed", "refused"]
        unpaid = Order.objects.filter(email=CUSTOMER["email"], status=OrderStatus.AWAITING_PAYMENT)
        assert unpaid.count() == LIMIT
