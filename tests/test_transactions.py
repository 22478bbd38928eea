"""Transactions whose commit does not wait for the disk (shop_project.transactions), and the
writes that use them: sessions and a confirmation's QUEUED mark, never an order."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.cart.tests.test_cart import add
from apps.orders import services
from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tests.checkout import place_order
from apps.orders.tests.factories import OrderFactory
from apps.shop.tests.factories import ProductFactory
from shop_project.transactions import commit_without_waiting

NO_WAIT = "SET LOCAL synchronous_commit TO OFF"


def transactions(captured) -> list[list[str]]:
    """The captured statements, one list per transaction, BEGIN to COMMIT."""
    found, current = [], None
    for query in captured:
        sql = query["sql"]
        if sql == "BEGIN":
            current = []
        elif sql == "COMMIT" and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current.append(sql)
    return found


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestCommitWithoutWaiting:
    def test_the_transaction_is_told_not_to_wait(self):
        with CaptureQueriesContext(connection) as captured, commit_without_waiting():
            pass
        assert transactions(captured) == [[NO_WAIT]]

    def test_a_callers_transaction_is_left_as_it_is(self):
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            with commit_without_waiting():
                pass
        assert not any(NO_WAIT in query["sql"] for query in captured)

    def test_what_it_wrote_is_committed_and_an_error_rolls_it_back(self):
        order = OrderFactory()
        with commit_without_waiting():
            Order.objects.filter(id=order.id).update(city="Kept")
        with pytest.raises(RuntimeError), commit_without_waiting():
            Order.objects.filter(id=order.id).update(city="Rolled back")
            raise RuntimeError("a failure after the write")
        assert Order.objects.get(id=order.id).city == "Kept"

    def test_the_confirmation_mark_does_not_wait(self):
        order = OrderFactory()
        with CaptureQueriesContext(connection) as captured:
            assert services.order_confirmation_publish(order_id=order.id) is True
        (marked,) = transactions(captured)
        assert marked[0] == NO_WAIT and marked[1].startswith('UPDATE "orders_order"')
        assert Order.objects.get(id=order.id).confirmation_status == ConfirmationStatus.QUEUED

    def test_the_order_itself_waits_for_the_disk(self, client):
        add(client, ProductFactory(stock=5), 2)
        with CaptureQueriesContext(connection) as captured:
            assert place_order(client).status_code == 302
        order_writes = [t for t in transactions(captured)
                        if any(sql.startswith('INSERT INTO "orders_order"') for sql in t)]
        assert len(order_writes) == 1 and NO_WAIT not in order_writes[0]
        assert Order.objects.count() == 1
