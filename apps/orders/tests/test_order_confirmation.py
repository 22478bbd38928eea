"""The order confirmation: its e-mail, the claim that sends it once, the sweep, and the task.

The tests here stay in one process. Publishing goes to the test settings' in-memory broker
(or to a closed port, for a broker that is down) and is observed with Celery's own
before_task_publish signal; tests/test_brokers.py covers real brokers and workers.
"""

import asyncio
import logging
import smtplib
import threading
import uuid
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from celery.exceptions import Retry, SoftTimeLimitExceeded
from celery.signals import before_task_publish
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.db import connections as db_connections
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from apps.orders import exceptions, services
from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tasks import (
    CONFIRMATION_FIRST_RETRY_SECONDS,
    CONFIRMATION_MAX_RETRIES,
    confirmations_sweep,
    order_created,
)
from apps.orders.tests.checkout import place_order
from apps.orders.tests.factories import CUSTOMER, OrderFactory, OrderItemFactory
from apps.shop.tests.factories import ProductFactory
from devtools.workers import celery_app_using, closed_port

UNREACHABLE_MAIL_SERVER = f"{__name__}.UnreachableMailServer"
FLAKY_MAIL_SERVER = f"{__name__}.FlakyMailServer"
STATUS_RECORDING_MAIL_SERVER = f"{__name__}.StatusRecordingMailServer"
RAISING_MAIL_SERVER = f"{__name__}.RaisingMailServer"


class UnreachableMailServer(BaseEmailBackend):
    """A mail server (SMTP, SES) that cannot be reached: every send fails."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server unreachable")


class FlakyMailServer(LocmemEmailBackend):
    """Refuses the first send of the test (unreachable), then delivers to mail.outbox like locmem."""

    failures_left = 0

    def send_messages(self, messages):
        if FlakyMailServer.failures_left:
            FlakyMailServer.failures_left -= 1
            raise ConnectionRefusedError("mail server unreachable")
        return super().send_messages(messages)


class StatusRecordingMailServer(LocmemEmailBackend):
    """Delivers like locmem, and notes the confirmation status orders had at that moment."""

    statuses_seen: list[str] = []

    def send_messages(self, messages):
        statuses = Order.objects.values_list("confirmation_status", flat=True)
        StatusRecordingMailServer.statuses_seen += list(statuses)
        return super().send_messages(messages)


class RaisingMailServer(BaseEmailBackend):
    """A mail backend whose send raises `error`: what SMTP, SES or the time limit raise mid-send."""

    error: BaseException = RuntimeError("set by the test")

    def send_messages(self, email_messages):
        raise RaisingMailServer.error


@pytest.fixture
def published():
    """What Celery publishes during the test: dicts of task, args and the message headers."""
    messages = []

    def record(sender, body, headers, **_):
        messages.append({"task": sender, "args": list(body[0]), "headers": headers})

    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)


@pytest.fixture
def broker_down():
    """Publishing goes to a RabbitMQ address where nothing listens."""
    with celery_app_using(f"amqp://guest:guest@127.0.0.1:{closed_port()}//"):
        yield


@pytest.fixture
def unreachable_mail_server(settings):
    settings.EMAIL_BACKEND = UNREACHABLE_MAIL_SERVER


def status_of(order: Order) -> str:
    order.refresh_from_db()
    return order.confirmation_status


def confirmation_tasks(published) -> list[list]:
    return [message["args"] for message in published if message["task"] == order_created.name]


@pytest.mark.django_db
class TestOrderConfirmationEmail:
    @pytest.fixture
    def message(self, order, mailoutbox):
        services.order_confirmation_send(order_id=order.id)
        assert len(mailoutbox) == 1
        return mailoutbox[0]

    def test_goes_to_the_customer_from_the_shop_address(self, message, order, settings):
        assert message.to == [CUSTOMER["email"]]
        assert message.from_email == settings.DEFAULT_FROM_EMAIL
        assert message.subject == f"Your order {order.id} at My Shop"

    def test_plain_text_has_order_number_lines_total_and_delivery_address(self, message, order):
        assert f"Your order number is {order.id}." in message.body
        assert "2 x Desk lamp  $39.80\n" in message.body
        assert "3 x Mug  $22.50\n" in message.body
        assert "Total: $62.30" in message.body
        assert "We will deliver to:\nAda Lovelace\n12 St James's Square\nSW1Y 4JH London\n" in message.body

    def test_amounts_are_in_the_shops_currency(self, order, mailoutbox, settings):
        settings.SHOP_CURRENCY = "eur"
        services.order_confirmation_send(order_id=order.id)
        [message] = mailoutbox
        assert "2 x Desk lamp  €39.80\n" in message.body
        assert "Total: €62.30" in message.body
        assert "$" not in message.body
        assertInHTML('<td align="right"><strong>€62.30</strong></td>', message.alternatives[0][0])

    def test_html_alternative_has_the_same_content(self, message, order):
        assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
        html = message.alternatives[0][0]
        assertInHTML(f"<strong>{order.id}</strong>", html)
        assertInHTML('<tr><td>2 ×</td><td>Desk lamp</td><td align="right">$39.80</td></tr>', html)
        assertInHTML('<tr><td>3 ×</td><td>Mug</td><td align="right">$22.50</td></tr>', html)
        assertInHTML('<td align="right"><strong>$62.30</strong></td>', html)
        assertInHTML(
            "<p>We will deliver to:<br>Ada Lovelace<br>12 St James's Square<br>SW1Y 4JH London</p>", html
        )

    def test_customer_input_is_escaped_in_the_html(self, order, mailoutbox):
        Order.objects.filter(id=order.id).update(first_name="<b>Ada</b>")

        services.order_confirmation_send(order_id=order.id)

        html = mailoutbox[0].alternatives[0][0]
        assert "<b>Ada</b>" not in html
        assert "&lt;b&gt;Ada&lt;/b&gt;" in html


@pytest.mark.django_db
class TestOrderConfirmationPublish:
    def test_checkout_publishes_only_once_the_order_is_committed(
        self, client, published, django_capture_on_commit_callbacks
    ):
        product = ProductFactory()
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1, "override": "False"})

        with django_capture_on_commit_callbacks() as callbacks:
            place_order(client)
            order = Order.objects.get()
            assert confirmation_tasks(published) == []
            assert order.confirmation_status == ConfirmationStatus.PENDING

        for callback in callbacks:  # the commit (the catalog cache forgets its pages then, too)
            callback()
        assert confirmation_tasks(published) == [[order.id]]
        assert status_of(order) == ConfirmationStatus.QUEUED

    def test_failed_checkout_publishes_nothing(self, client, published, django_capture_on_commit_callbacks):
        product = ProductFactory(stock=0)
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1, "override": "False"})

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            place_order(client)

        assert callbacks == []
        assert published == []

    def test_published_confirmation_is_queued(self, order, published):
        assert services.order_confirmation_publish(order_id=order.id) is True

        assert confirmation_tasks(published) == [[order.id]]
        assert status_of(order) == ConfirmationStatus.QUEUED

    def test_broker_down_leaves_the_order_pending(self, order, broker_down):
        assert services.order_confirmation_publish(order_id=order.id) is False

        assert status_of(order) == ConfirmationStatus.PENDING

    def test_publishing_again_does_not_undo_a_sent_confirmation(self, order):
        services.order_confirmation_send(order_id=order.id)

        services.order_confirmation_publish(order_id=order.id)

        assert status_of(order) == ConfirmationStatus.SENT


@pytest.mark.django_db
class TestOrderConfirmationSend:
    def test_order_is_sending_while_the_email_goes_out_then_sent(self, order, settings):
        settings.EMAIL_BACKEND = STATUS_RECORDING_MAIL_SERVER
        StatusRecordingMailServer.statuses_seen = []
        Order.objects.filter(id=order.id).update(confirmation_status=ConfirmationStatus.QUEUED)

        assert services.order_confirmation_send(order_id=order.id) is True

        assert StatusRecordingMailServer.statuses_seen == [ConfirmationStatus.SENDING]
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.SENT
        assert order.confirmation_attempts == 1
        assert order.confirmation_sent_at is not None
        assert order.confirmation_claimed_at <= order.confirmation_sent_at

    def test_redelivered_message_sends_no_second_email(self, order, mailoutbox):
        services.order_confirmation_send(order_id=order.id)

        assert services.order_confirmation_send(order_id=order.id) is False

        assert len(mailoutbox) == 1
        order.refresh_from_db()
        assert (order.confirmation_status, order.confirmation_attempts) == (ConfirmationStatus.SENT, 1)

    def test_order_another_worker_is_sending_is_left_alone_until_its_lease_ends(self, order, mailoutbox):
        claimed_at = timezone.now() - timedelta(minutes=1)
        Order.objects.filter(id=order.id).update(
            confirmation_status=ConfirmationStatus.SENDING, confirmation_claimed_at=claimed_at
        )

        with pytest.raises(exceptions.ConfirmationClaimedError) as claimed:
            services.order_confirmation_send(order_id=order.id)

        assert claimed.value.lease_ends_at == claimed_at + services.confirmation_claim_lease()
        assert mailoutbox == []
        assert status_of(order) == ConfirmationStatus.SENDING

    def test_claim_older_than_the_lease_is_taken_again(self, order, mailoutbox):
        # The worker that claimed it vanished (killed, timed out) without sending.
        Order.objects.filter(id=order.id).update(
            confirmation_status=ConfirmationStatus.SENDING,
            confirmation_claimed_at=timezone.now() - services.confirmation_claim_lease()
            - timedelta(seconds=1),
            confirmation_attempts=1,
        )

        assert services.order_confirmation_send(order_id=order.id) is True

        assert len(mailoutbox) == 1
        order.refresh_from_db()
        assert (order.confirmation_status, order.confirmation_attempts) == (ConfirmationStatus.SENT, 2)
        assert order.confirmation_error == ""  # the earlier failure is not shown beside "sent"

    def test_failing_mail_server_releases_the_claim_and_records_the_error(
        self, order, unreachable_mail_server
    ):
        with pytest.raises(exceptions.ConfirmationNotSentError, match="mail server unreachable"):
            services.order_confirmation_send(order_id=order.id)

        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.QUEUED
        assert order.confirmation_error == "ConnectionRefusedError: mail server unreachable"
        assert order.confirmation_attempts == 1
        assert order.confirmation_sent_at is None

    def test_released_claim_is_sent_by_the_next_attempt(self, order, settings, mailoutbox):
        settings.EMAIL_BACKEND = UNREACHABLE_MAIL_SERVER
        with pytest.raises(exceptions.ConfirmationNotSentError):
            services.order_confirmation_send(order_id=order.id)
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

        assert services.order_confirmation_send(order_id=order.id) is True

        assert len(mailoutbox) == 1
        order.refresh_from_db()
        assert (order.confirmation_status, order.confirmation_attempts) == (ConfirmationStatus.SENT, 2)

    def test_given_up_order_is_not_sent_and_its_message_keeps_failing(self, order, mailoutbox):
        # Failing (not returning) is what leads SQS to move the message to the dead-letter queue.
        Order.objects.filter(id=order.id).update(confirmation_status=ConfirmationStatus.FAILED)

        with pytest.raises(exceptions.ConfirmationGivenUpError):
            services.order_confirmation_send(order_id=order.id)

        assert mailoutbox == []
        assert status_of(order) == ConfirmationStatus.FAILED

    def test_unknown_order_sends_nothing(self, db, mailoutbox):
        assert services.order_confirmation_send(order_id=987654) is False

        assert mailoutbox == []


@pytest.mark.django_db
class TestConfirmationsSweep:
    MIN_AGE = 300

    def make_order(self, status, *, age_seconds=MIN_AGE + 60, claimed_seconds_ago=None) -> Order:
        order = OrderFactory()
        now = timezone.now()
        claimed = None if claimed_seconds_ago is None else now - timedelta(seconds=claimed_seconds_ago)
        # `created` is set on insert (auto_now_add); only an update can make an order old.
        Order.objects.filter(id=order.id).update(
            created=now - timedelta(seconds=age_seconds),
            confirmation_status=status,
            confirmation_claimed_at=claimed,
        )
        return order

    def test_publishes_only_old_orders_whose_confirmation_is_not_sent(self, published):
        lease = services.confirmation_claim_lease().total_seconds()
        due = [
            self.make_order(ConfirmationStatus.PENDING),
            self.make_order(ConfirmationStatus.QUEUED),
            self.make_order(ConfirmationStatus.SENDING, claimed_seconds_ago=lease + 60),
        ]
        self.make_order(ConfirmationStatus.PENDING, age_seconds=self.MIN_AGE - 60)  # checkout still at it
        self.make_order(ConfirmationStatus.SENDING, claimed_seconds_ago=60)  # a worker is sending it
        self.make_order(ConfirmationStatus.SENT)
        self.make_order(ConfirmationStatus.FAILED)  # given up: staff resend those

        assert confirmations_sweep(min_age_seconds=self.MIN_AGE) == 3

        assert sorted(confirmation_tasks(published)) == sorted([o.id] for o in due)
        assert status_of(due[0]) == ConfirmationStatus.QUEUED

    def test_stops_at_the_first_publish_failure(self, published, broker_down):
        orders = [self.make_order(ConfirmationStatus.PENDING) for _ in range(3)]

        assert confirmations_sweep(min_age_seconds=self.MIN_AGE) == 0

        # One attempt, not one per order: each would cost a connection timeout.
        assert len(confirmation_tasks(published)) == 1
        assert {status_of(o) for o in orders} == {ConfirmationStatus.PENDING}


def run_as_worker_delivery(order_id: int, *, retries: int):
    """Run order_created's body as a worker runs a delivery that is retry number `retries`.

    Outside a worker, Celery's retry() re-raises instead of publishing; with the request a
    worker sets up, it publishes the retry (to the in-memory broker) and raises Retry.
    """
    order_created.push_request(
        id=str(uuid.uuid4()), args=[order_id], kwargs={}, retries=retries,
        called_directly=False, delivery_info={},
    )
    try:
        return order_created.run(order_id)
    finally:
        order_created.pop_request()


@pytest.mark.django_db
class TestOrderCreatedTask:
    def test_sends_the_confirmation(self, order, mailoutbox):
        result = order_created.apply(args=[order.id])

        assert result.successful()
        assert len(mailoutbox) == 1
        assert status_of(order) == ConfirmationStatus.SENT

    @pytest.mark.parametrize("retries", range(CONFIRMATION_MAX_RETRIES))
    def test_failed_send_is_retried_with_exponential_backoff(
        self, order, unreachable_mail_server, published, retries
    ):
        expected_countdown = CONFIRMATION_FIRST_RETRY_SECONDS * 2**retries  # 30, 60, 120, 240, 480 s

        with pytest.raises(Retry) as retry:
            run_as_worker_delivery(order.id, retries=retries)

        assert retry.value.when == expected_countdown
        [message] = published
        assert message["args"] == [order.id]
        assert message["headers"]["retries"] == retries + 1
        delay = datetime.fromisoformat(message["headers"]["eta"]) - timezone.now()
        assert timedelta(seconds=expected_countdown - 5) < delay <= timedelta(seconds=expected_countdown)
        assert status_of(order) == ConfirmationStatus.QUEUED

    def test_gives_up_after_the_last_retry_and_marks_the_order_failed(
        self, order, unreachable_mail_server, published
    ):
        with pytest.raises(exceptions.ConfirmationNotSentError):
            run_as_worker_delivery(order.id, retries=CONFIRMATION_MAX_RETRIES)

        assert published == []
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.FAILED
        assert order.confirmation_error == "ConnectionRefusedError: mail server unreachable"

    def test_every_attempt_failing_ends_failed_after_max_retries_plus_one_sends(
        self, order, unreachable_mail_server
    ):
        # Eager apply runs each retry at once instead of after its countdown: the countdowns
        # are checked above; this is about how many attempts there are and where they end.
        result = order_created.apply(args=[order.id])

        assert result.failed()
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.FAILED
        assert order.confirmation_attempts == CONFIRMATION_MAX_RETRIES + 1

    def test_message_of_a_given_up_order_fails_without_sending_or_retrying(
        self, order, mailoutbox, published
    ):
        Order.objects.filter(id=order.id).update(confirmation_status=ConfirmationStatus.FAILED)

        with pytest.raises(exceptions.ConfirmationGivenUpError):
            run_as_worker_delivery(order.id, retries=0)

        assert mailoutbox == []
        assert published == []

    def test_send_that_fails_once_is_sent_by_the_retry(self, order, settings):
        settings.EMAIL_BACKEND = FLAKY_MAIL_SERVER
        FlakyMailServer.failures_left = 1

        result = order_created.apply(args=[order.id])

        assert result.successful()
        assert [m.subject for m in mail.outbox] == [f"Your order {order.id} at My Shop"]
        order.refresh_from_db()
        assert (order.confirmation_status, order.confirmation_attempts) == (ConfirmationStatus.SENT, 2)


@pytest.mark.django_db
class TestConfirmationPromise:
    """What at-least-once delivery may cost: duplicates only where the design cannot avoid them."""

    ORDERS = 107  # the worker outage the issue measured
    MIN_AGE = 300

    def old_orders(self, count: int, status=ConfirmationStatus.PENDING) -> list[Order]:
        orders = OrderFactory.create_batch(count)
        Order.objects.filter(id__in=[o.id for o in orders]).update(
            created=timezone.now() - timedelta(seconds=self.MIN_AGE + 60), confirmation_status=status
        )
        return orders

    def test_sweeps_during_a_worker_outage_publish_each_order_once_per_lease(self, published):
        orders = self.old_orders(self.ORDERS)  # checkout could not publish them: broker was down

        # No worker runs: every sweep within a lease finds them all still queued.
        per_sweep = [confirmations_sweep(min_age_seconds=self.MIN_AGE) for _ in range(3)]

        tasks = confirmation_tasks(published)
        assert per_sweep == [self.ORDERS, 0, 0], per_sweep
        assert sorted(tasks) == sorted([o.id] for o in orders), f"{len(tasks)} messages"

    def test_a_queued_order_is_published_again_once_its_lease_is_over(self, published):
        orders = self.old_orders(3, ConfirmationStatus.QUEUED)
        lease = services.confirmation_claim_lease()
        Order.objects.filter(id=orders[0].id).update(confirmation_queued_at=timezone.now() - lease * 2)
        Order.objects.filter(id__in=[o.id for o in orders[1:]]).update(
            confirmation_queued_at=timezone.now() - lease / 2
        )

        assert confirmations_sweep(min_age_seconds=self.MIN_AGE) == 1
        assert confirmation_tasks(published) == [[orders[0].id]]

    def test_redelivery_while_another_worker_holds_the_claim_is_handed_on(self, order, published, mailoutbox):
        claimed_at = timezone.now() - timedelta(minutes=5)
        Order.objects.filter(id=order.id).update(
            confirmation_status=ConfirmationStatus.SENDING, confirmation_claimed_at=claimed_at
        )

        run_as_worker_delivery(order.id, retries=2)

        # Not acknowledged and forgotten: a copy waits for the end of the lease, when the claim
        # can be judged; it keeps the delivery's retry count (waiting is not a failed send).
        [handed_on] = [m for m in published if m["task"] == order_created.name]
        due = datetime.fromisoformat(handed_on["headers"]["eta"])
        assert due >= claimed_at + services.confirmation_claim_lease()
        assert (handed_on["args"], handed_on["headers"]["retries"]) == ([order.id], 2)
        assert mailoutbox == []
        assert status_of(order) == ConfirmationStatus.SENDING

    def test_redelivery_after_the_send_is_acknowledged_with_nothing_more(self, order, published):
        order_created.apply(args=[order.id])

        run_as_worker_delivery(order.id, retries=0)

        assert status_of(order) == ConfirmationStatus.SENT
        assert confirmation_tasks(published) == []


class HeldQuitInbox:
    """aiosmtpd handler: accepts every message, then holds the client's QUIT until released."""

    def __init__(self):
        self.accepted = 0
        self.quit_seen = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.accepted += 1
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        self.quit_seen.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)
        return "221 Bye"


@pytest.mark.django_db(transaction=True)
class TestConfirmationSendWindow:
    def test_the_order_is_sent_before_the_smtp_conversation_ends(self, settings):
        # A worker killed between the mail server's "250" and the SENT update leaves a duplicate
        # behind; nothing may stand between the two, not even the SMTP QUIT.
        order = OrderItemFactory(order=OrderFactory()).order
        inbox = HeldQuitInbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
        controller.start()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        sender = threading.Thread(target=send_and_close_connection, args=(order.id,))
        try:
            sender.start()
            assert inbox.quit_seen.wait(timeout=10), "the worker never ended the SMTP conversation"
            status_at_quit = status_of(order)
        finally:
            inbox.release.set()
            sender.join(timeout=10)
            controller.stop()

        assert inbox.accepted == 1
        assert status_at_quit == ConfirmationStatus.SENT


def send_and_close_connection(order_id: int) -> None:
    try:
        services.order_confirmation_send(order_id=order_id)
    finally:
        db_connections.close_all()


class SilentAfterTheMessage:
    """aiosmtpd handler: takes the whole message of the first `silent` sends and never answers
    them, as a server that accepted the e-mail and then went quiet (or whose "250" was lost on
    the way); it answers the sends after those. The test's teardown releases the silent ones."""

    def __init__(self, silent: int = 1):
        self.arrivals = 0
        self.silent = silent
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.arrivals += 1
        if self.arrivals <= self.silent:
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


class RefusingOnce:
    """aiosmtpd handler: answers the first message with a temporary refusal, then accepts."""

    def __init__(self):
        self.refused = 0
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        if not self.refused:
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.accepted += 1
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_inbox(settings):
    """start(handler): a real SMTP server on loopback with that aiosmtpd handler, and the shop's
    SMTP backend pointed at it."""
    started = []

    def start(handler):
        controller = Controller(handler, hostname="127.0.0.1", port=closed_port())
        controller.start()
        started.append((controller, handler))
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 1  # the shop's is 5 s: the same silence, sooner over
        return handler

    yield start
    for controller, handler in started:
        if hasattr(handler, "release"):
            handler.release.set()
        controller.stop()


def services_warnings(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == services.__name__ and r.levelno == logging.WARNING
    ]


SES_ENDPOINT = "https://email.eu-west-1.amazonaws.com"
QUEUED, SENDING = ConfirmationStatus.QUEUED, ConfirmationStatus.SENDING


def ses_error(code: str, http_status: int) -> ClientError:
    """What django-ses raises when SES answers SendRawEmail with an error."""
    response = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": http_status}}
    return ClientError(response, "SendRawEmail")


@pytest.mark.django_db
class TestConfirmationSendFailures:
    """A failure that leaves it unknown whether the mail server took the e-mail keeps the claim
    for its lease (a retry 30 s later would send a second e-mail); a failure known to come before
    the server could take it releases the claim for the retry."""

    def test_server_silent_after_the_message_keeps_the_claim_until_the_lease_ends(
        self, order, published, smtp_inbox, caplog
    ):
        inbox = smtp_inbox(SilentAfterTheMessage())
        caplog.set_level(logging.WARNING, logger=services.__name__)

        run_as_worker_delivery(order.id, retries=0)  # no Retry in 30 s

        order.refresh_from_db()
        assert (inbox.arrivals, order.confirmation_status) == (1, ConfirmationStatus.SENDING)
        assert "timed out" in order.confirmation_error
        [warning] = services_warnings(caplog)
        assert f"order {order.id}" in warning and "timed out" in warning
        # The message still carries the order, as for a live claim: a copy due when the lease
        # ends. It counts as a retry, so a server that always does this costs a bounded number.
        [handed_on] = [m for m in published if m["task"] == order_created.name]
        due = datetime.fromisoformat(handed_on["headers"]["eta"])
        assert due >= order.confirmation_claimed_at + services.confirmation_claim_lease()
        assert (handed_on["args"], handed_on["headers"]["retries"]) == ([order.id], 1)
        # Before the lease ends, neither a redelivery nor the sweep sends a second e-mail.
        with pytest.raises(exceptions.ConfirmationClaimedError):
            services.order_confirmation_send(order_id=order.id)
        assert confirmations_sweep(min_age_seconds=0) == 0
        assert inbox.arrivals == 1

    def test_once_the_lease_is_over_the_handed_on_copy_sends_it(self, order, published, smtp_inbox):
        inbox = smtp_inbox(SilentAfterTheMessage())
        run_as_worker_delivery(order.id, retries=0)
        lease_over = timezone.now() - services.confirmation_claim_lease() - timedelta(seconds=1)
        Order.objects.filter(id=order.id).update(confirmation_claimed_at=lease_over)

        run_as_worker_delivery(order.id, retries=1)

        # The one duplicate this failure may cost (if the silent server did deliver), after the lease.
        assert inbox.arrivals == 2
        order.refresh_from_db()
        assert (order.confirmation_status, order.confirmation_error) == (ConfirmationStatus.SENT, "")

    def test_server_refusing_the_message_releases_the_claim_and_the_retry_sends_once(
        self, order, published, smtp_inbox
    ):
        inbox = smtp_inbox(RefusingOnce())

        with pytest.raises(Retry) as retry:
            run_as_worker_delivery(order.id, retries=0)

        assert retry.value.when == CONFIRMATION_FIRST_RETRY_SECONDS
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.QUEUED
        assert "451" in order.confirmation_error

        run_as_worker_delivery(order.id, retries=1)

        assert (inbox.refused, inbox.accepted) == (1, 1)
        assert status_of(order) == ConfirmationStatus.SENT

    def test_server_that_is_down_releases_the_claim(self, order, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()

        with pytest.raises(exceptions.ConfirmationNotSentError, match="Connection refused"):
            services.order_confirmation_send(order_id=order.id)

        assert status_of(order) == ConfirmationStatus.QUEUED

    @pytest.mark.parametrize(
        ("error", "status"),
        [
            # Known to come before the message could be accepted: the claim is released.
            (ConnectionRefusedError("connection refused"), QUEUED),
            (smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such user")}), QUEUED),
            (smtplib.SMTPDataError(554, b"message refused"), QUEUED),
            (ses_error("Throttling", 400), QUEUED),
            (EndpointConnectionError(endpoint_url=SES_ENDPOINT), QUEUED),
            (ConnectTimeoutError(endpoint_url=SES_ENDPOINT), QUEUED),
            # Ambiguous: the message may be with the server; the claim is kept for its lease.
            (ses_error("InternalFailure", 500), SENDING),
            (ReadTimeoutError(endpoint_url=SES_ENDPOINT), SENDING),
            (SoftTimeLimitExceeded(), SENDING),
            (ConnectionResetError("connection reset by peer"), SENDING),
            (TimeoutError("timed out"), SENDING),  # from a backend that says no more
        ],
        ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value,
    )
    def test_a_failure_releases_the_claim_only_if_it_came_before_the_server_could_accept(
        self, order, settings, error, status
    ):
        settings.EMAIL_BACKEND = RAISING_MAIL_SERVER
        RaisingMailServer.error = error

        failed = (exceptions.ConfirmationNotSentError, exceptions.ConfirmationClaimedError)
        with pytest.raises(failed) as raised:
            services.order_confirmation_send(order_id=order.id)

        order.refresh_from_db()
        assert order.confirmation_status == status
        assert order.confirmation_error.startswith(type(error).__name__)
        kept = isinstance(raised.value, exceptions.ConfirmationClaimedError)
        assert kept == (status == ConfirmationStatus.SENDING)

    def test_an_ambiguous_failure_on_the_last_retry_gives_up(self, order, settings, published):
        settings.EMAIL_BACKEND = RAISING_MAIL_SERVER
        RaisingMailServer.error = ReadTimeoutError(endpoint_url=SES_ENDPOINT)

        with pytest.raises(exceptions.ConfirmationClaimedError):
            run_as_worker_delivery(order.id, retries=CONFIRMATION_MAX_RETRIES)

        assert published == []
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.FAILED
        assert order.confirmation_error.startswith("ReadTimeoutError")
