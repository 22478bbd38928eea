"""Staff run the payment side from the order admin: status shown and filtered, ship, refund
through Stripe (once), and the PaymentIntent one click away in Stripe's dashboard."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.orders.models import Order, OrderStatus
from apps.payment import services
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.conftest import STOCK_LEFT, placed_order, stock_of
from apps.payment.tests.races import row_held, run_together, wait_until_sessions_wait_for_locks
from apps.payment.tests.stripe_events import paid_intent

CHANGELIST_URL = reverse("admin:orders_order_changelist")


def act(client, action: str, orders):
    return client.post(CHANGELIST_URL, {"action": action, "_selected_action": [o.id for o in orders]},
                       follow=True)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def paid_at_stripe(order: Order) -> Order:
    """The order paid at localstripe and marked paid as the webhook would."""
    intent = paid_intent(order)
    payment = services.Payment(intent.id, intent.amount, intent.currency)
    assert services.payment_succeeded(order_id=order.id, payment=payment) == "paid"
    order.refresh_from_db()
    return order


def mark_paid(order: Order, intent_id: str = "pi_admin_test") -> Order:
    """Paid as far as the shop knows (no Stripe call needed by the test)."""
    payment = services.Payment(intent_id, services.expected_amount(order), "usd")
    services.payment_succeeded(order_id=order.id, payment=payment)
    order.refresh_from_db()
    return order


def refunds_at_stripe(intent_id: str) -> int:
    charge = stripe_client().v1.payment_intents.retrieve(intent_id).latest_charge
    return charge.amount_refunded // charge.amount


@pytest.mark.django_db
class TestStatusInTheAdmin:
    def test_list_shows_and_filters_by_status_and_attention(self, admin_client):
        paid = mark_paid(placed_order(first_name="Paula"))
        waiting = placed_order(first_name="Wanda")
        flagged = placed_order(first_name="Fiona")
        Order.objects.filter(id=flagged.id).update(needs_attention=True, attention_note="amount differs")

        response = admin_client.get(CHANGELIST_URL, {"status__exact": "paid"})
        assertContains(response, "Paula")
        assertNotContains(response, "Wanda")
        response = admin_client.get(CHANGELIST_URL, {"needs_attention__exact": "1"})
        assertContains(response, "Fiona")
        assertNotContains(response, "Paula")
        assert {paid.status, waiting.status} == {OrderStatus.PAID, OrderStatus.AWAITING_PAYMENT}

    def test_change_page_shows_the_payment_and_links_it_in_stripes_test_dashboard(
        self, admin_client, settings
    ):
        settings.STRIPE_SECRET_KEY = "sk_test_abc"  # pragma: allowlist secret
        order = mark_paid(placed_order(), "pi_dashboard")
        Order.objects.filter(id=order.id).update(payment_failure_code="card_declined",
                                                 payment_failure_message="Your card was declined.")

        response = admin_client.get(reverse("admin:orders_order_change", args=[order.id]))

        assertContains(response, 'href="https://dashboard.stripe.com/test/payments/pi_dashboard"')
        assertContains(response, "Your card was declined.")
        assertContains(response, "card_declined")

    def test_live_key_links_the_live_dashboard(self, admin_client, settings):
        settings.STRIPE_SECRET_KEY = "sk_live_abc"  # pragma: allowlist secret
        order = mark_paid(placed_order(), "pi_live")

        response = admin_client.get(reverse("admin:orders_order_change", args=[order.id]))

        assertContains(response, 'href="https://dashboard.stripe.com/payments/pi_live"')

    def test_status_cannot_be_edited_on_the_change_page(self, admin_client):
        order = placed_order()
        url = reverse("admin:orders_order_change", args=[order.id])
        form = admin_client.get(url).context["adminform"].form

        assert "status" not in form.fields and "paid" not in form.fields and "stripe_id" not in form.fields


@pytest.mark.django_db
class TestShip:
    def test_ships_paid_orders_only(self, admin_client):
        paid, waiting = mark_paid(placed_order()), placed_order()

        response = act(admin_client, "mark_shipped", [paid, waiting])

        assert "1 order(s) marked shipped. Only paid orders can be shipped." in said(response)
        paid.refresh_from_db()
        waiting.refresh_from_db()
        assert (paid.status, waiting.status) == (OrderStatus.SHIPPED, OrderStatus.AWAITING_PAYMENT)

    def test_staff_without_change_permission_cannot_ship(self, db):
        order = mark_paid(placed_order())
        viewer = get_user_model().objects.create_user("viewer", password="pw-long-enough", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
        client = Client()
        client.force_login(viewer)

        act(client, "mark_shipped", [order])

        order.refresh_from_db()
        assert order.status == OrderStatus.PAID

    def test_action_without_csrf_token_is_refused(self, admin_user):
        order = mark_paid(placed_order())
        client = Client(enforce_csrf_checks=True)
        client.force_login(admin_user)

        response = client.post(CHANGELIST_URL, {"action": "refund", "_selected_action": [order.id]})

        assert response.status_code == 403
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID


@pytest.mark.django_db
class TestRefundFromTheAdmin:
    def test_paid_order_is_refunded_at_stripe_and_its_stock_put_back(self, localstripe, admin_client):
        order = paid_at_stripe(placed_order())

        response = act(admin_client, "refund", [order])

        order.refresh_from_db()
        assert f"Order {order.id} refunded ({order.stripe_refund_id})." in said(response)
        assert (order.status, order.paid) == (OrderStatus.REFUNDED, True)
        assert stock_of(order) == STOCK_LEFT + 2
        assert refunds_at_stripe(order.stripe_id) == 1

    def test_second_refund_is_refused_and_nothing_more_is_refunded(self, localstripe, admin_client):
        order = paid_at_stripe(placed_order())
        act(admin_client, "refund", [order])

        response = act(admin_client, "refund", [order])

        assert f"Order {order.id} is refunded already." in said(response)
        assert stock_of(order) == STOCK_LEFT + 2
        assert refunds_at_stripe(order.stripe_id) == 1  # localstripe would have taken a second one

    def test_shipped_order_is_refunded_without_restocking(self, localstripe, admin_client):
        order = paid_at_stripe(placed_order())
        services.order_ship(order_id=order.id)

        act(admin_client, "refund", [order])

        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED
        assert stock_of(order) == STOCK_LEFT
        assert refunds_at_stripe(order.stripe_id) == 1

    def test_unpaid_order_cannot_be_refunded(self, admin_client):
        order = placed_order()

        response = act(admin_client, "refund", [order])

        assert f"Order {order.id} is awaiting payment: only paid or shipped orders can be refunded." in said(
            response)
        order.refresh_from_db()
        assert order.status == OrderStatus.AWAITING_PAYMENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestTwoRefundsAtOnce:
    def test_one_refund_reaches_stripe(self, localstripe):
        order = paid_at_stripe(placed_order())

        # Another session holds the order while both staff refunds reach it.
        with row_held("orders_order", order.id) as held:
            outcomes = run_together(
                [lambda: services.order_refund(order_id=order.id)] * 2,
                while_running=lambda: wait_until_sessions_wait_for_locks(2),
                finally_=held.release,
            )

        assert refunds_at_stripe(order.stripe_id) == 1
        assert sorted(type(outcome).__name__ for outcome in outcomes) == ["Order", "RefundRefusedError"]
        assert stock_of(order) == STOCK_LEFT + 2
