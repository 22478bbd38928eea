"""Many shoppers buying the last units at once: PostgreSQL's row locks must not oversell."""

import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from apps.orders.models import Order
from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory

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
                start_together.wait(timeout=30)
                response = client.post(reverse("orders:order_create"), CUSTOMER)
                if response.status_code == 302 and "/orders/created/" in response["Location"]:
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
