"""Two loads of the payment page at once, on PostgreSQL: the order gets one PaymentIntent.

localstripe ignores idempotency keys (the same key makes a second PaymentIntent), so what is
tested is the shop's own guard: the order's row locked while its PaymentIntent id is read,
created and stored (apps/payment/intents.py). Without the lock both loads find no id, and both
create one.
"""

import threading

import pytest
from django.db import connections
from django.test import Client

from apps.orders.models import Order
from apps.orders.tests.checkout import place_order
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.test_payment_pages import shopper_with_cart
from apps.shop.tests.factories import ProductFactory

LOADS = 2


def payment_intents_of(order_id: int) -> list[str]:
    intents = stripe_client().v1.payment_intents.list(params={"limit": 100})
    ours = str(order_id)
    # Other tests' PaymentIntents in the same localstripe may carry no order at all.
    return [intent.id for intent in intents.auto_paging_iter()
            if intent.metadata.to_dict().get("order_id") == ours]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestPaymentIntentRace:
    def test_two_page_loads_at_once_make_one_payment_intent(self, localstripe):
        shopper = shopper_with_cart(ProductFactory(stock=5), 1)
        placed = place_order(shopper)
        order = Order.objects.get()
        session_key = shopper.cookies["sessionid"].value
        start_together = threading.Barrier(LOADS)
        statuses, errors = [], []

        def load_the_page():
            try:
                tab = Client()
                tab.cookies["sessionid"] = session_key
                start_together.wait(timeout=30)
                statuses.append(tab.get(placed.url).status_code)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=load_the_page) for _ in range(LOADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == [] and statuses == [200] * LOADS
        order.refresh_from_db()
        assert payment_intents_of(order.id) == [order.stripe_id]
