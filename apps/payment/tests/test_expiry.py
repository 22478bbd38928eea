"""Unpaid orders expire: Stripe first, then the order and its stock, exactly once; and a payment
that arrives after its order expired takes the stock again, or is refunded and the shopper told."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from apps.coupons.models import Coupon
from apps.coupons.tests.factories import CouponFactory
from apps.orders import services as order_services
from apps.orders.models import Order, OrderStatus
from apps.orders.shown import ShownCheckout, ShownCoupon, ShownLine
from apps.orders.tests.factories import CUSTOMER
from apps.payment import services
from apps.payment.lambda_handlers import payment_expiry_sweep_handler
from apps.payment.tasks import late_payment_refunded_email
from apps.payment.tests.conftest import STOCK_LEFT, placed_order, stock_of
from apps.payment.tests.races import row_held, run_together, wait_until_sessions_wait_for_locks
from apps.payment.tests.stripe_events import deliver, localstripe_event, open_intent, paid_intent
from apps.shop.models import Product
from apps.shop.tests.factories import ProductFactory
from devtools.localstripe import free_port


def expired_order(**fields) -> Order:
    return placed_order(deadline_in_minutes=-1, **fields)


def status_of(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def intent_status(intent_id: str) -> str:
    from apps.payment.stripe_api import stripe_client

    return stripe_client().v1.payment_intents.retrieve(intent_id).status


@pytest.mark.django_db
class TestExpiryWithoutStripe:
    def test_expired_order_without_payment_intent_is_cancelled_and_its_stock_put_back(self, signals_sent):
        order = expired_order()

        assert services.orders_expire() == {"cancelled": 1}

        assert status_of(order) == OrderStatus.CANCELLED
        assert stock_of(order) == STOCK_LEFT + 2
        assert signals_sent == [("order_cancelled", order.id)]

    def test_a_second_sweep_changes_nothing(self, signals_sent):
        order = expired_order()
        services.orders_expire()

        assert services.orders_expire() == {}
        assert services.order_expire(order_id=order.id) == "already settled"
        assert stock_of(order) == STOCK_LEFT + 2
        assert signals_sent == [("order_cancelled", order.id)]

    def test_order_within_its_deadline_is_left(self, order):
        assert services.orders_expire() == {}
        assert status_of(order) == OrderStatus.AWAITING_PAYMENT

    def test_order_placed_before_payments_existed_is_never_cancelled(self):
        # Upgrading: every old unpaid order is awaiting payment, with no deadline.
        order = placed_order()
        long_ago = timezone.now() - timedelta(days=90)
        Order.objects.filter(id=order.id).update(payment_deadline=None, created=long_ago)

        assert services.orders_expire() == {}
        assert services.order_expire(order_id=order.id) == "not due"
        assert status_of(order) == OrderStatus.AWAITING_PAYMENT
        assert stock_of(order) == STOCK_LEFT

    def test_paid_order_past_its_deadline_is_left(self):
        order = expired_order()
        Order.objects.filter(id=order.id).update(status=OrderStatus.PAID, paid=True)

        assert services.orders_expire() == {}
        assert stock_of(order) == STOCK_LEFT

    @pytest.mark.slow  # the SDK runs `uname` for its user agent
    def test_stripe_unreachable_leaves_the_order_for_the_next_sweep(self, settings, caplog):
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        order = expired_order()
        Order.objects.filter(id=order.id).update(stripe_id="pi_somewhere")

        assert services.orders_expire() == {"stripe unavailable": 1}
        assert status_of(order) == OrderStatus.AWAITING_PAYMENT
        assert stock_of(order) == STOCK_LEFT
        assert "next sweep" in caplog.text

    def test_the_beat_schedule_runs_the_sweep_every_minute(self, settings):
        entry = settings.CELERY_BEAT_SCHEDULE["payment-expiry-sweep"]
        assert (entry["task"], entry["schedule"]) == ("apps.payment.tasks.payment_expiry_sweep", 60.0)


@pytest.mark.django_db
class TestExpiryAtStripe:
    def test_expiry_cancels_the_payment_intent_then_the_order_and_puts_its_stock_back(
        self, localstripe, signals_sent
    ):
        order = expired_order()
        intent = open_intent(order)

        assert services.orders_expire() == {"cancelled": 1}

        assert intent_status(intent.id) == "canceled"
        assert status_of(order) == OrderStatus.CANCELLED
        assert stock_of(order) == STOCK_LEFT + 2
        assert signals_sent == [("order_cancelled", order.id)]

    def test_expiry_meeting_a_success_at_stripe_marks_the_order_paid(self, localstripe, signals_sent):
        order = expired_order()
        intent = paid_intent(order)
        Order.objects.filter(id=order.id).update(stripe_id=intent.id)

        assert services.orders_expire() == {"paid": 1}

        order.refresh_from_db()
        assert (order.status, order.paid, order.stripe_id) == (OrderStatus.PAID, True, intent.id)
        assert stock_of(order) == STOCK_LEFT  # still the order's
        assert signals_sent == [("order_paid", order.id)]
        # The webhook for the same payment, arriving after, changes nothing.
        deliver_outcome = services.payment_succeeded(
            order_id=order.id, payment=services.Payment(intent.id, intent.amount, intent.currency))
        assert deliver_outcome == "already recorded"


@pytest.mark.django_db
class TestLatePayment:
    """The sweep cancelled the order (its PaymentIntent came after the sweep looked at Stripe),
    then the shopper's payment went through and its event arrives."""

    @pytest.fixture
    def cancelled_order(self):
        order = expired_order()
        assert services.orders_expire() == {"cancelled": 1}
        assert stock_of(order) == STOCK_LEFT + 2
        return order

    def test_with_enough_stock_takes_it_again_and_the_order_is_paid(
        self, localstripe, client, cancelled_order, signals_sent
    ):
        intent = paid_intent(cancelled_order)

        response = deliver(client, localstripe_event("payment_intent.succeeded", intent.id))

        assert response.content == b"paid late, stock taken again\n"
        cancelled_order.refresh_from_db()
        assert (cancelled_order.status, cancelled_order.paid) == (OrderStatus.PAID, True)
        assert stock_of(cancelled_order) == STOCK_LEFT
        assert signals_sent == [("order_paid", cancelled_order.id)]

    def test_without_enough_stock_is_refunded_once_and_the_shopper_told(
        self, localstripe, client, cancelled_order, signals_sent, published, mailoutbox,
        django_capture_on_commit_callbacks,
    ):
        Product.objects.filter(order_items__order=cancelled_order).update(stock=1)  # sold meanwhile
        intent = paid_intent(cancelled_order)
        event = localstripe_event("payment_intent.succeeded", intent.id)

        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(client, event)
        # Redelivered, and delivered again under another event id: no second refund.
        again = deliver(client, event)
        event["id"] += "_again"
        other = deliver(client, event)

        assert response.content == b"paid late, refunded\n"
        assert (again.content, other.content) == (b"duplicate\n", b"already recorded\n")
        cancelled_order.refresh_from_db()
        assert (cancelled_order.status, cancelled_order.paid) == (OrderStatus.REFUNDED, False)
        assert cancelled_order.stripe_refund_id.startswith("re_")
        assert stock_of(cancelled_order) == 1  # nothing taken, nothing given back
        assert signals_sent == []  # (the cancel came before the test listened)
        charge = intent_charge(intent.id)
        assert charge.amount_refunded == charge.amount
        # The e-mail goes through Celery, published once the refund is committed.
        assert published == [(late_payment_refunded_email.name, [cancelled_order.id])]
        assert late_payment_refunded_email.apply(args=[cancelled_order.id]).get() is True
        [mail] = mailoutbox
        assert mail.to == [cancelled_order.email]
        assert "refunded your payment in full" in mail.body and cancelled_order.stripe_refund_id in mail.body


def cancelled_order_with_coupon(coupon: Coupon) -> Order:
    """An order placed with one of `coupon`'s uses, expired by the sweep: the use given back."""
    used_before = coupon.used
    Coupon.objects.filter(id=coupon.id).update(used=F("used") + 1)
    order = expired_order(coupon=coupon, discount=coupon.discount, coupon_use_held=True)
    assert services.orders_expire() == {"cancelled": 1}
    assert Coupon.objects.get(id=coupon.id).used == used_before
    return order


def late_payment_of(order: Order) -> str:
    """What the webhook does with the success of the order's (late) PaymentIntent."""
    payment = services.Payment(f"pi_late_{order.id}", services.expected_amount(order), settings.SHOP_CURRENCY)
    return services.payment_succeeded(order_id=order.id, payment=payment)


def checkout_with(coupon: Coupon) -> Order:
    """Another shopper's checkout of another product with `coupon`, through the service."""
    product = ProductFactory(name="Mug", stock=10)
    shown = ShownCheckout((ShownLine(product.id, product.name, 1, product.price),),
                          ShownCoupon(coupon.code, coupon.discount))
    return order_services.order_create(quantities={product.id: 1}, cart_token=None,
                                       customer=order_services.Customer(**CUSTOMER), shown=shown,
                                       coupon_id=coupon.id)


@pytest.mark.django_db
class TestLatePaymentWithACoupon:
    def test_takes_the_coupons_use_again(self):
        coupon = CouponFactory(code="ONCE", max_uses=1, discount=10)
        order = cancelled_order_with_coupon(coupon)

        assert late_payment_of(order) == "paid late, stock taken again"

        order.refresh_from_db()
        assert (order.status, order.coupon_use_held, order.needs_attention) == (OrderStatus.PAID, True, False)
        assert Coupon.objects.get(id=coupon.id).used == 1
        # The use is the order's again: a cancellation now would give it back once more.

    def test_a_use_gone_to_another_order_leaves_it_paid_and_tells_staff(self):
        coupon = CouponFactory(code="ONCE", max_uses=1, discount=10)
        order = cancelled_order_with_coupon(coupon)
        checkout_with(coupon)  # the use given back went to another shopper

        assert late_payment_of(order) == "paid late, stock taken again"

        order.refresh_from_db()
        assert (order.status, order.coupon_use_held, order.needs_attention) == (OrderStatus.PAID, False, True)
        assert "ONCE" in order.attention_note
        assert Coupon.objects.get(id=coupon.id).used == 1  # never above max_uses

    def test_a_coupon_without_a_limit_counts_the_use_again(self):
        coupon = CouponFactory(code="ALWAYS", max_uses=None, discount=10, used=4)
        order = cancelled_order_with_coupon(coupon)

        late_payment_of(order)

        assert Coupon.objects.get(id=coupon.id).used == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestLatePaymentAndACheckoutForTheLastUse:
    def test_the_last_use_goes_to_one_of_them_and_neither_fails(self):
        coupon = CouponFactory(code="ONCE", max_uses=1, discount=10)
        order = cancelled_order_with_coupon(coupon)
        ProductFactory(name="warm-up")  # (the factory's sequence, outside the threads)

        def late_payment_after_the_checkout_queued():
            wait_until_sessions_wait_for_locks(1)  # the checkout waits for the coupon first
            return late_payment_of(order)

        # Staff hold the coupon's row until both wait for it: the checkout first in the queue.
        with row_held("coupons_coupon", coupon.id) as held:
            checkout, late = run_together(
                [lambda: checkout_with(coupon), late_payment_after_the_checkout_queued],
                while_running=lambda: wait_until_sessions_wait_for_locks(2),
                finally_=held.release,
            )

        assert isinstance(checkout, Order) and checkout.coupon_id == coupon.id
        assert late == "paid late, stock taken again"
        order.refresh_from_db()
        assert (order.status, order.coupon_use_held, order.needs_attention) == (OrderStatus.PAID, False, True)
        assert Coupon.objects.get(id=coupon.id).used == 1


def intent_charge(intent_id: str):
    from apps.payment.stripe_api import stripe_client

    return stripe_client().v1.payment_intents.retrieve(intent_id).latest_charge


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestTwoSweepsAtOnce:
    def test_stock_comes_back_once(self, localstripe, signals_sent):
        order = expired_order()
        intent = open_intent(order)

        # Staff hold the order's row while both sweeps reach it: both are past Stripe and
        # waiting for the order when it is let go.
        with row_held("orders_order", order.id) as held:
            outcomes = run_together(
                [services.orders_expire, services.orders_expire],
                while_running=lambda: wait_until_sessions_wait_for_locks(2),
                finally_=held.release,
            )

        assert stock_of(order) == STOCK_LEFT + 2
        assert sorted(outcomes, key=str) == [{"already settled": 1}, {"cancelled": 1}]
        assert status_of(order) == OrderStatus.CANCELLED
        assert intent_status(intent.id) == "canceled"
        assert signals_sent == [("order_cancelled", order.id)]


@pytest.mark.django_db
class TestExpiryOnAws:
    """No beat on AWS: Zappa's schedule calls the sweep's Lambda entry, as for confirmations."""

    def test_zappa_schedules_the_sweep_every_minute_in_every_stage(self, settings):
        zappa = json.loads((Path(settings.BASE_DIR) / "zappa_settings.json").read_text())
        entry = {"function": "apps.payment.lambda_handlers.payment_expiry_sweep_handler",
                 "expression": "rate(1 minute)"}
        assert [stage for stage in ("dev", "production") if entry in zappa[stage]["events"]] == [
            "dev", "production"]

    def test_the_lambda_entry_runs_the_sweep(self, signals_sent):
        order = expired_order()

        assert payment_expiry_sweep_handler({"source": "aws.events"}, None) == {"outcomes": {"cancelled": 1}}
        assert status_of(order) == OrderStatus.CANCELLED
