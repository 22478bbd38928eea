"""Checkout under concurrency on PostgreSQL: the last units to as many buyers, deadlocks retried."""

import threading
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from apps.orders import services
from apps.orders.models import Order
from apps.orders.tests.checkout import checkout_form
from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory
from tests.support.postgres import wait_until_a_session_waits_for_a_lock

BUYERS = 20
UNITS_LEFT = 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCheckoutConcurrency:
    def test_last_units_go_to_exactly_as_many_buyers(self):
        product = ProductFactory(stock=UNITS_LEFT)
        start_together = threading.Barrier(BUYERS)
        outcomes: list[str] = []
        errors: list[BaseException] = []

        def buy():
            try:
                client = Client()
                client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
                fields = {**checkout_form(client), **CUSTOMER}
                start_together.wait(timeout=30)
                response = client.post(reverse("orders:order_create"), fields)
                if response.status_code == 302 and "/en/payment/process/?order=" in response["Location"]:
                    outcomes.append("ordered")
                elif response.status_code == 200 and "Not enough stock" in response.content.decode():
                    outcomes.append("refused")
                else:
                    outcomes.append(f"unexpected {response.status_code}")
            except BaseException as error:  # noqa: BLE001 - a thread cannot fail the test; reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=buy) for _ in range(BUYERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert sorted(outcomes) == ["ordered"] * UNITS_LEFT + ["refused"] * (BUYERS - UNITS_LEFT)
        product.refresh_from_db()
        assert product.stock == 0
        assert Order.objects.count() == UNITS_LEFT
        assert sum(o.items.get().quantity for o in Order.objects.all()) == UNITS_LEFT


# A checkout that loses a deadlock ----------------------------------------------------------------


def _staff_connection() -> psycopg.Connection:
    """A second session on the test database, outside Django, as another process would hold."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    staff = psycopg.connect(**params, autocommit=False)
    # The deadlock's victim is the session whose deadlock_timeout runs out first: make it the
    # checkout's (the server default, 1 s), never this one.
    staff.execute("SET deadlock_timeout = '60s'")
    return staff


def _checkout_deadlocked_by_staff(client, first, second) -> object:
    """Staff restock `second` then `first` (the reverse of checkout's id order) while the
    client's checkout holds `first` and waits for `second`: a genuine deadlock, which PostgreSQL
    breaks by failing the checkout's transaction. Returns the checkout's response (or what it raised)."""
    fields = {**checkout_form(client), **CUSTOMER}
    outcome: list[object] = []

    def check_out():
        try:
            outcome.append(client.post(reverse("orders:order_create"), fields))
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)
        finally:
            connections.close_all()

    staff = _staff_connection()
    try:
        staff.execute("UPDATE shop_product SET stock = stock + 10 WHERE id = %s", [second.id])
        shopper = threading.Thread(target=check_out)
        shopper.start()
        wait_until_a_session_waits_for_a_lock()
        # Blocks until PostgreSQL fails the checkout's transaction, which frees `first`.
        staff.execute("UPDATE shop_product SET stock = stock + 10 WHERE id = %s", [first.id])
        staff.commit()
    finally:
        staff.close()
    shopper.join(timeout=30)
    assert not shopper.is_alive(), "the checkout never finished"
    return outcome[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCheckoutDeadlockRetry:
    @pytest.fixture
    def cart(self):
        lamp = ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=5)
        mug = ProductFactory(name="Mug", price=Decimal("7.50"), stock=5)
        assert lamp.id < mug.id  # checkout locks the lamp first
        client = Client()
        for product in (lamp, mug):
            client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 2})
        return client, lamp, mug

    def test_checkout_that_loses_a_deadlock_is_retried_and_places_the_order(self, cart, caplog):
        client, lamp, mug = cart

        response = _checkout_deadlocked_by_staff(client, lamp, mug)

        assert not isinstance(response, BaseException), repr(response)
        assert response.status_code == 302 and "/en/payment/process/?order=" in response["Location"]
        assert Order.objects.count() == 1
        lamp.refresh_from_db()
        mug.refresh_from_db()
        # The staff's restock and the sale both hold: 5 + 10 - 2.
        assert (lamp.stock, mug.stock) == (13, 13)
        assert "deadlock" in caplog.text.lower()

    def test_checkout_out_of_retries_shows_the_form_again_and_keeps_the_cart(self, cart, monkeypatch):
        client, lamp, mug = cart
        monkeypatch.setattr(services, "CHECKOUT_ATTEMPTS", 1, raising=False)

        response = _checkout_deadlocked_by_staff(client, lamp, mug)

        assert not isinstance(response, BaseException), repr(response)
        assert response.status_code == 200
        assert list(response.context["form"].non_field_errors()) == [
            "The shop was too busy to place your order just now. Nothing was ordered and your cart "
            "is kept: please place it again."
        ]
        assert not Order.objects.exists()
        lamp.refresh_from_db()
        assert lamp.stock == 15
        cart_page = client.get(reverse("cart:cart_detail"))
        assert [line.quantity for line in cart_page.context["cart"]] == [2, 2]
