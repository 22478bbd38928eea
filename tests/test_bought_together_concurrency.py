"""Bought-together counting under concurrency on PostgreSQL: a task delivered twice at once
counts its order once, and orders sharing products all count."""

import threading

import pytest
from django.db import connections

from apps.recommendations import services
from apps.recommendations.tests.pairs import counts, paid_order
from apps.shop.tests.factories import ProductFactory
from tests.support.postgres import in_transaction_held_open, wait_until_a_session_waits_for_a_lock


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestBoughtTogetherUnderConcurrency:
    def test_two_deliveries_of_one_task_at_once_count_the_order_once(self):
        a, b = ProductFactory.create_batch(2)
        order = paid_order(a, b)

        def count():
            services.bought_together_count(order_id=order.id)

        first_done, first_release, first_outcome = threading.Event(), threading.Event(), []
        second_done, second_release, second_outcome = threading.Event(), threading.Event(), []
        first = threading.Thread(target=in_transaction_held_open, args=[count], kwargs=dict(
            done=first_done, release=first_release, outcome=first_outcome))
        second = threading.Thread(target=in_transaction_held_open, args=[count], kwargs=dict(
            done=second_done, release=second_release, outcome=second_outcome))
        first.start()
        assert first_done.wait(timeout=30)
        second.start()
        # The second delivery waits on the first's uncommitted work (the order's marker).
        wait_until_a_session_waits_for_a_lock()
        first_release.set()
        first.join(timeout=30)
        assert second_done.wait(timeout=30)
        second_release.set()
        second.join(timeout=30)

        assert first_outcome == ["committed"] and second_outcome == ["committed"]
        assert counts() == {(a.id, b.id): 1, (b.id, a.id): 1}

    def test_ten_orders_sharing_products_counted_at_once_all_count(self):
        products = ProductFactory.create_batch(4)
        # Every order holds the same four products, listed in a different order each time.
        orders = [paid_order(*(products[i:] + products[:i])) for i in range(10)]
        start_together = threading.Barrier(len(orders))
        errors: list[BaseException] = []

        def count(order_id):
            try:
                start_together.wait(timeout=30)
                services.bought_together_count(order_id=order_id)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=count, args=[order.id]) for order in orders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert set(counts().values()) == {10} and len(counts()) == 12
