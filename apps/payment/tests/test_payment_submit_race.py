"""Two card submits at once (a double click that got through, two tabs), on PostgreSQL: one charge.

The card form asks for its SetupIntent only on submit, so two tabs hold two SetupIntents and two
PaymentMethods; what must stay single is the payment. Each submit posts its PaymentMethod, and
`payment_confirm` confirms the order's PaymentIntent under the order's row lock: the second
finds it no longer waiting for a card. The hard case is a PaymentIntent whose charge was
declined: each submit would cancel it and make the order a replacement, and two replacements
could each take a card. Another session holds the order's row while both submits arrive, so
that both are in flight, waiting for it, when it is let go.
"""

import pytest
from django.test import Client
from django.urls import reverse

from apps.orders.models import Order
from apps.orders.tests.checkout import place_order
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.cards import DECLINED_AT_CHARGE, VISA, card_into_setup_intent, setup_client_secret
from apps.payment.tests.races import row_held, run_together, wait_until_sessions_wait_for_locks
from apps.payment.tests.test_payment_intent_race import payment_intents_of
from apps.payment.tests.test_payment_pages import shopper_with_cart
from apps.shop.tests.factories import ProductFactory

SUBMITS = 2


def tab_of(shopper: Client) -> Client:
    tab = Client()
    tab.cookies["sessionid"] = shopper.cookies["sessionid"].value
    return tab


def charges_of_order(order_id: int) -> list[str]:
    """The statuses of every charge on any PaymentIntent of the order."""
    ours = set(payment_intents_of(order_id))
    charges = stripe_client().v1.charges.list(params={"limit": 100}).auto_paging_iter()
    return [charge.status for charge in charges if charge.payment_intent in ours]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestPaymentSubmitRace:
    @pytest.mark.parametrize("declined_first", [False, True], ids=["fresh", "after-a-declined-charge"])
    def test_two_submits_at_once_charge_the_order_once(self, localstripe, declined_first):
        shopper = shopper_with_cart(ProductFactory(stock=5), 1)
        payment_url = place_order(shopper).url
        order = Order.objects.get()
        page = shopper.get(payment_url)
        if declined_first:
            secret = setup_client_secret(shopper, page)
            method = card_into_setup_intent(localstripe, secret, DECLINED_AT_CHARGE)
            shopper.post(payment_url, {"payment_method": method})
            assert charges_of_order(order.id) == ["failed"]
        # Two tabs, each its own SetupIntent and card, as the form makes them on submit.
        tabs = [tab_of(shopper) for _ in range(SUBMITS)]
        methods = [card_into_setup_intent(localstripe, setup_client_secret(tab, page), VISA) for tab in tabs]

        with row_held("orders_order", order.id) as held:
            responses = run_together(
                [lambda tab=tab, method=method: tab.post(payment_url, {"payment_method": method})
                 for tab, method in zip(tabs, methods, strict=True)],
                while_running=lambda: wait_until_sessions_wait_for_locks(SUBMITS),
                finally_=held.release,
            )

        completed = f"{reverse('payment:completed')}?order={order.id}"
        assert [getattr(r, "url", r) for r in responses] == [completed] * SUBMITS
        assert sorted(charges_of_order(order.id)) == ["failed"] * declined_first + ["succeeded"]
        order.refresh_from_db()
        intents = {intent: stripe_client().v1.payment_intents.retrieve(intent).status
                   for intent in payment_intents_of(order.id)}
        assert intents.pop(order.stripe_id) == "succeeded"
        assert set(intents.values()) <= {"canceled"}  # the declined one, never another that could charge
