"""The Stripe webhook: only signed events, each applied once, state only moving forward."""

import json
import logging
import time

import pytest
import stripe
from django.test import Client

from apps.orders.models import Order, OrderStatus
from apps.orders.tests.factories import OrderItemFactory
from apps.payment.models import StripeEvent
from apps.payment.services import expected_amount
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.conftest import STOCK_LEFT, placed_order, stock_of
from apps.payment.tests.races import row_held, run_together, wait_until_sessions_wait_for_locks
from apps.payment.tests.stripe_events import (
    WEBHOOK_URL,
    charge_refunded_event,
    deliver,
    intent_event,
    localstripe_event,
    paid_intent,
    signature,
)

CONCURRENT_DELIVERIES = 10
QUERIES_PER_SUCCESS = 12


def snapshot(order: Order) -> dict:
    order.refresh_from_db()
    return {field: getattr(order, field) for field in (
        "status", "paid", "stripe_id", "needs_attention", "payment_failure_code", "stripe_refund_id")}


@pytest.mark.django_db
class TestWebhookRefusesWhatStripeDidNotSign:
    @pytest.fixture
    def event(self, order):
        return intent_event("payment_intent.succeeded", order)

    @pytest.mark.parametrize("header", [
        "",  # missing
        "t=1796220000,v1=" + "0" * 64,
        "garbage",
    ])
    def test_bad_or_missing_signature_is_a_400_and_changes_nothing(
        self, client, order, event, header, caplog
    ):
        before = snapshot(order)
        with caplog.at_level(logging.INFO):
            response = deliver(client, event, header=header)

        assert response.status_code == 400
        assert snapshot(order) == before
        assert not StripeEvent.objects.exists()
        [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert (record.name, record.levelname, record.exc_info) == ("apps.payment.webhooks", "WARNING", None)

    def test_signature_made_with_another_secret_is_refused(self, client, order, event):
        response = deliver(client, event, secret="whsec_someone_else")  # pragma: allowlist secret

        assert response.status_code == 400
        assert snapshot(order)["status"] == OrderStatus.AWAITING_PAYMENT

    def test_signature_older_than_the_tolerance_is_refused(self, client, order, event):
        response = deliver(client, event, timestamp=int(time.time()) - 301)

        assert response.status_code == 400
        assert not StripeEvent.objects.exists()

    def test_tampered_body_is_refused(self, client, order, event):
        body = json.dumps(event)
        header = signature(body)
        event["data"]["object"]["amount"] = 1

        response = deliver(client, event, header=header)

        assert response.status_code == 400
        assert snapshot(order)["status"] == OrderStatus.AWAITING_PAYMENT

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"event"', b'{"id": "evt_1"}'])
    def test_signed_body_that_is_no_event_is_a_400(self, client, db, body):
        response = deliver(client, body)

        assert response.status_code == 400
        assert not StripeEvent.objects.exists()

    def test_body_that_is_not_utf8_is_a_400(self, client, db):
        body = b'{"id": "evt_\xff"}'
        response = client.post(WEBHOOK_URL, data=body, content_type="application/json",
                               HTTP_STRIPE_SIGNATURE="t=1,v1=00")

        assert response.status_code == 400

    def test_form_encoded_body_is_a_400(self, client, db):
        response = client.post(WEBHOOK_URL, {"id": "evt_1"}, HTTP_STRIPE_SIGNATURE="t=1,v1=00")

        assert response.status_code == 400

    def test_get_is_a_405(self, client, db):
        assert client.get(WEBHOOK_URL).status_code == 405

    def test_needs_no_csrf_token(self, order, event):
        response = deliver(Client(enforce_csrf_checks=True), event)

        assert response.status_code == 200


@pytest.mark.django_db
class TestPaymentSucceeded:
    def test_marks_the_order_paid_and_sends_order_paid_once(self, client, order, signals_sent):
        response = deliver(client, intent_event("payment_intent.succeeded", order, intent_id="pi_paid"))

        assert response.status_code == 200
        assert snapshot(order) | {"paid_at": order.paid_at is not None} == {
            "status": OrderStatus.PAID, "paid": True, "stripe_id": "pi_paid", "needs_attention": False,
            "payment_failure_code": "", "stripe_refund_id": "", "paid_at": True}
        assert signals_sent == [("order_paid", order.id)]

    def test_delivered_twice_has_one_effect(self, client, order, signals_sent):
        event = intent_event("payment_intent.succeeded", order)

        first, second = deliver(client, event), deliver(client, event)

        assert (first.status_code, second.status_code) == (200, 200)
        assert second.content == b"duplicate\n"
        assert signals_sent == [("order_paid", order.id)]
        assert StripeEvent.objects.get().outcome == "paid"

    def test_another_event_for_the_same_payment_changes_nothing(self, client, order, signals_sent):
        deliver(client, intent_event("payment_intent.succeeded", order, event_id="evt_a"))
        response = deliver(client, intent_event("payment_intent.succeeded", order, event_id="evt_b"))

        assert response.content == b"already recorded\n"
        assert signals_sent == [("order_paid", order.id)]

    @pytest.mark.parametrize("amount, currency", [(1, None), (None, "eur")])
    def test_amount_or_currency_not_the_orders_is_not_paid_but_flagged(
        self, client, order, signals_sent, amount, currency, caplog
    ):
        event = intent_event("payment_intent.succeeded", order, amount=amount, currency=currency)

        with caplog.at_level(logging.WARNING):
            response = deliver(client, event)

        assert response.status_code == 200
        order.refresh_from_db()
        assert (order.status, order.paid) == (OrderStatus.AWAITING_PAYMENT, False)
        assert order.needs_attention
        assert "not marked paid" in order.attention_note
        assert signals_sent == []
        assert any("not marked paid" in r.getMessage() for r in caplog.records)

    def test_for_an_unknown_order_is_a_200_and_logged(self, client, order, caplog):
        event = intent_event("payment_intent.succeeded", order)
        event["data"]["object"]["metadata"] = {"order_id": str(order.id + 1000)}

        with caplog.at_level(logging.WARNING):
            response = deliver(client, event)

        assert response.status_code == 200
        assert StripeEvent.objects.get().outcome == "no such order"
        assert any("does not exist" in r.getMessage() for r in caplog.records)

    def test_without_an_order_id_is_a_200_and_logged(self, client, order, caplog):
        event = intent_event("payment_intent.succeeded", order)
        event["data"]["object"]["metadata"] = {"order_id": "1; drop table"}

        assert deliver(client, event).status_code == 200
        assert snapshot(order)["status"] == OrderStatus.AWAITING_PAYMENT


@pytest.mark.django_db
class TestPaymentFailed:
    def test_records_the_failure_and_the_order_stays_payable(self, client, order, signals_sent):
        response = deliver(client, intent_event("payment_intent.payment_failed", order))

        assert response.status_code == 200
        order.refresh_from_db()
        assert (order.status, order.paid) == (OrderStatus.AWAITING_PAYMENT, False)
        assert (order.payment_failure_code, order.payment_failure_message) == (
            "card_declined", "Your card was declined.")
        # And a later success still pays it.
        deliver(client, intent_event("payment_intent.succeeded", order))
        assert snapshot(order)["status"] == OrderStatus.PAID
        assert signals_sent == [("order_paid", order.id)]

    def test_late_failure_after_success_changes_nothing(self, client, order):
        deliver(client, intent_event("payment_intent.succeeded", order))
        before = snapshot(order)

        response = deliver(client, intent_event("payment_intent.payment_failed", order))

        assert response.status_code == 200
        assert snapshot(order) == before


@pytest.mark.django_db
class TestChargeRefunded:
    def test_full_refund_at_stripe_refunds_the_order_and_puts_its_stock_back(self, client, order):
        deliver(client, intent_event("payment_intent.succeeded", order, intent_id="pi_3SZrefundedcharge0001"))

        response = deliver(client, charge_refunded_event(order))

        assert response.status_code == 200
        order.refresh_from_db()
        assert (order.status, order.paid, order.refunded_at is not None) == (OrderStatus.REFUNDED, True, True)
        assert stock_of(order) == STOCK_LEFT + 2

    def test_of_a_shipped_order_puts_no_stock_back(self, client, order):
        deliver(client, intent_event("payment_intent.succeeded", order))
        Order.objects.filter(id=order.id).update(status=OrderStatus.SHIPPED)

        deliver(client, charge_refunded_event(order))

        assert snapshot(order)["status"] == OrderStatus.REFUNDED
        assert stock_of(order) == STOCK_LEFT

    def test_partial_refund_is_flagged_and_changes_nothing_else(self, client, order):
        deliver(client, intent_event("payment_intent.succeeded", order))

        deliver(client, charge_refunded_event(order, amount_refunded=100))

        order.refresh_from_db()
        assert (order.status, order.needs_attention) == (OrderStatus.PAID, True)
        assert stock_of(order) == STOCK_LEFT

    def test_for_an_unknown_payment_is_a_200(self, client, order):
        response = deliver(client, charge_refunded_event(order, intent_id="pi_nobody"))

        assert response.status_code == 200
        assert StripeEvent.objects.get().outcome == "no such order"


@pytest.mark.django_db
class TestOtherEvents:
    def test_unknown_type_is_a_200_and_recorded_once(self, client, db):
        event = {"id": "evt_other_1", "object": "event", "type": "customer.created",
                 "data": {"object": {"id": "cus_1", "object": "customer"}}}

        responses = [deliver(client, event), deliver(client, event)]

        assert [r.status_code for r in responses] == [200, 200]
        assert list(StripeEvent.objects.values_list("event_id", "type", "outcome")) == [
            ("evt_other_1", "customer.created", "ignored")]


class TestWebhookAgainstLocalstripe:
    def test_the_event_localstripe_lists_for_a_paid_intent_marks_the_order_paid(
        self, localstripe, db, client, signals_sent
    ):
        order = placed_order()
        intent = paid_intent(order)

        response = deliver(client, localstripe_event("payment_intent.succeeded", intent.id))

        assert response.status_code == 200
        assert snapshot(order)["status"] == OrderStatus.PAID
        assert snapshot(order)["stripe_id"] == intent.id
        assert signals_sent == [("order_paid", order.id)]

    def test_a_declined_card_records_the_failure_and_the_order_is_paid_by_the_next_card(
        self, localstripe, db, client, signals_sent
    ):
        order = placed_order()
        client_ = stripe_client()
        declined = client_.v1.payment_methods.create(params={"type": "card", "card": {
            "number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
        with pytest.raises(stripe.CardError):
            client_.v1.payment_intents.create(params={
                "amount": expected_amount(order), "currency": "usd", "metadata": {"order_id": str(order.id)},
                "payment_method": declined.id, "confirm": True})
        events = client_.v1.events.list(params={"type": "payment_intent.payment_failed", "limit": 100})
        [failed] = [event.to_dict() for event in events.data
                    if event.data.object.payment_method == declined.id]

        deliver(client, failed)

        order.refresh_from_db()
        assert (order.status, order.payment_failure_code) == (OrderStatus.AWAITING_PAYMENT, "card_declined")
        intent = paid_intent(order)
        deliver(client, localstripe_event("payment_intent.succeeded", intent.id))
        assert snapshot(order)["status"] == OrderStatus.PAID
        assert signals_sent == [("order_paid", order.id)]

    def test_a_second_payment_of_a_paid_order_is_refunded_at_once_and_flagged(
        self, localstripe, db, client, signals_sent
    ):
        order = placed_order()
        first, second = paid_intent(order), paid_intent(order)  # two tabs, say
        deliver(client, localstripe_event("payment_intent.succeeded", first.id))

        response = deliver(client, localstripe_event("payment_intent.succeeded", second.id))

        assert response.content == b"duplicate payment refunded\n"
        order.refresh_from_db()
        assert (order.status, order.stripe_id, order.needs_attention) == (OrderStatus.PAID, first.id, True)
        assert second.id in order.attention_note
        charges = [stripe_client().v1.payment_intents.retrieve(i.id).latest_charge for i in (first, second)]
        assert [charge.amount_refunded for charge in charges] == [0, charges[1].amount]
        assert signals_sent == [("order_paid", order.id)]

    def test_localstripe_delivers_its_signed_event_to_the_live_server(
        self, localstripe, live_server, transactional_db, settings, signals_sent
    ):
        settings.STRIPE_WEBHOOK_SECRET = "whsec_live_server_test"  # pragma: allowlist secret
        # localstripe posts an event about a second after making it, to the endpoints registered
        # then: an earlier test's event still on its way (for an order of the same id, on
        # SQLite) would reach this endpoint too.
        time.sleep(1.5)
        localstripe.register_webhook(
            f"payhooks-{time.monotonic_ns()}", url=live_server.url + WEBHOOK_URL,
            secret=settings.STRIPE_WEBHOOK_SECRET, events=["payment_intent.succeeded"],
        )
        order = placed_order()
        intent = paid_intent(order)
        event_id = localstripe_event("payment_intent.succeeded", intent.id)["id"]

        deadline = time.monotonic() + 15
        while not StripeEvent.objects.filter(event_id=event_id).exists() and time.monotonic() < deadline:
            time.sleep(0.2)

        event = StripeEvent.objects.get(event_id=event_id)
        assert (event.type, event.outcome, event.order_id) == ("payment_intent.succeeded", "paid", order.id)
        assert snapshot(order)["stripe_id"] == intent.id
        assert signals_sent == [("order_paid", order.id)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrentDeliveries:
    def test_ten_deliveries_of_one_event_at_once_have_one_effect(self, signals_sent):
        order = placed_order()
        event = intent_event("payment_intent.succeeded", order)
        body = json.dumps(event)

        # Staff hold the order's row (as an admin save would) while the ten arrive: all ten are
        # in flight, each blocked somewhere in the webhook, when it is let go.
        with row_held("orders_order", order.id) as held:
            responses = run_together(
                [lambda: deliver(Client(), body) for _ in range(CONCURRENT_DELIVERIES)],
                while_running=lambda: wait_until_sessions_wait_for_locks(CONCURRENT_DELIVERIES),
                finally_=held.release,
            )

        assert [getattr(r, "status_code", r) for r in responses] == [200] * CONCURRENT_DELIVERIES
        assert signals_sent == [("order_paid", order.id)]
        duplicates = [b"duplicate\n"] * (CONCURRENT_DELIVERIES - 1)
        assert sorted(r.content for r in responses) == duplicates + [b"paid\n"]
        assert list(StripeEvent.objects.values_list("event_id", flat=True)) == [event["id"]]
        assert snapshot(order)["status"] == OrderStatus.PAID


@pytest.mark.django_db
class TestWebhookQueries:
    @pytest.mark.parametrize("lines", [1, 5])
    def test_a_success_costs_the_same_queries_whatever_the_order_holds(
        self, client, django_assert_num_queries, lines
    ):
        order = placed_order()
        for _ in range(lines - 1):
            OrderItemFactory(order=order)
        event = intent_event("payment_intent.succeeded", order)

        # The event recorded (a savepoint round it: a duplicate must not end the transaction), the
        # order locked, its lines for the total, the order, its invoice made due (the invoice's
        # receiver of order_paid) and the event written; 6 savepoints.
        with django_assert_num_queries(QUERIES_PER_SUCCESS):
            assert deliver(client, event).content == b"paid\n"
