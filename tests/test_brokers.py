"""Checkout to confirmation e-mail through real brokers and real `celery worker` processes.

The web side is this test process: it checks out through the site and publishes on commit to
the broker under test. The worker is a subprocess with its own settings, sending e-mail to
files. Data must be committed for the worker to see it, hence transaction=True throughout.
"""

import asyncio
import email
import os
import re
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from apps.orders import services
from apps.orders.models import ConfirmationStatus, Order, OrderStatus
from apps.orders.tasks import confirmations_sweep, order_created
from apps.orders.tests.checkout import checkout_form, place_order
from apps.orders.tests.factories import CUSTOMER, OrderFactory, OrderItemFactory
from apps.payment.signals import order_paid
from apps.payment.tasks import payment_completed
from apps.shop.tests.factories import ProductFactory
from devtools.tcp_proxy import TcpProxy
from devtools.workers import (
    Worker,
    celery_app_using,
    closed_port,
    delete_queue,
    sent_emails,
    silent_port,
    unique_queue_name,
    wait_for,
    wait_for_emails,
    workers_running,
)
from shop_project.celery import app

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
# The bound is "about a second"; the margin is for a loaded CI machine.
CHECKOUT_WITH_BROKER_DOWN_MAX_SECONDS = 1.5
STATUS_SETTLES_SECONDS = 10


def checkout(client, product):
    """Buy one `product` the way a shopper does; the response to the order form's POST."""
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1, "override": "False"})
    return place_order(client)


def placed_order(response) -> Order:
    assert response.status_code == 302, response.content.decode()[:500]
    order = Order.objects.get()
    assert response["Location"] == f"{reverse('payment:process')}?order={order.id}"
    return order


def wait_for_status(order: Order, status: str) -> None:
    def reached():
        order.refresh_from_db()
        return order.confirmation_status == status

    wait_for(reached, timeout=STATUS_SETTLES_SECONDS, what=f"order {order.id} {status}")


def assert_one_confirmation(messages, order: Order) -> None:
    assert len(messages) == 1, [m["Subject"] for m in messages]
    assert messages[0]["To"] == CUSTOMER["email"]
    assert messages[0]["Subject"] == f"Your order {order.id} at My Shop"


@pytest.fixture
def product(db):
    return ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=5)


@pytest.fixture
def rabbitmq_queue():
    """The web side publishes to RabbitMQ, on a queue of this test's own, removed afterwards."""
    queue = unique_queue_name()
    with celery_app_using(RABBITMQ_URL, queue=queue):
        yield queue
        delete_queue(queue)


@pytest.fixture
def rabbitmq_worker(tmp_path, mail_dir, rabbitmq_queue):
    """Makes workers consuming this test's RabbitMQ queue; start them with `with`."""

    def make(name="worker"):
        return Worker(
            mail_dir=mail_dir, log_path=tmp_path / f"{name}.log", name=name,
            broker_env={"CELERY_BROKER_URL": RABBITMQ_URL}, queue=rabbitmq_queue,
        )

    return make


@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
class TestRabbitMQ:
    def test_worker_sends_the_confirmation_of_a_checkout(self, client, product, mail_dir, rabbitmq_worker):
        with rabbitmq_worker() as worker:
            order = placed_order(checkout(client, product))

            wait_for_emails(mail_dir, workers=(worker,))
            wait_for_status(order, ConfirmationStatus.SENT)
        assert_one_confirmation(sent_emails(mail_dir), order)
        assert order.confirmation_attempts == 1

    def test_message_delivered_twice_to_two_workers_sends_one_email(
        self, client, product, mail_dir, rabbitmq_worker
    ):
        # Brokers deliver at least once: here the task is on the queue twice, and two workers
        # take the copies as they come (most often one each, at the same moment).
        with workers_running(rabbitmq_worker("first"), rabbitmq_worker("second")) as (first, second):
            order = placed_order(checkout(client, product))
            order_created.apply_async(args=[order.id])

            def both_ran():
                return (first.log() + second.log()).count("succeeded in") == 2

            wait_for(both_ran, timeout=STATUS_SETTLES_SECONDS, what="both deliveries run")
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.SENT
        assert_one_confirmation(sent_emails(mail_dir), order)


@pytest.mark.django_db(transaction=True)
class TestEmbeddedBroker:
    def test_worker_picks_up_a_checkout_with_no_server_running(self, client, product, tmp_path, mail_dir):
        folder = tmp_path / "broker"
        folder.mkdir()
        options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
                   "control_folder": str(folder)}
        with celery_app_using("filesystem://", transport_options=options):
            # Published before any worker runs: the folder keeps it, as under `make run`.
            order = placed_order(checkout(client, product))
            assert list(folder.glob("*.msg")), "checkout wrote no message to the broker folder"

            # No CELERY_BROKER_URL: the worker takes the embedded broker, as `make run` does.
            with Worker(mail_dir=mail_dir, log_path=tmp_path / "worker.log",
                        broker_env={"CELERY_FILESYSTEM_BROKER_DIR": str(folder)}) as worker:
                wait_for_emails(mail_dir, workers=(worker,))
                wait_for_status(order, ConfirmationStatus.SENT)
        assert_one_confirmation(sent_emails(mail_dir), order)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestTwoWorkersOneMessage:
    ORDERS = 10

    def test_same_task_run_at_the_same_moment_sends_one_email_per_order(self):
        # Each thread stands for a worker with its own database connection; the barrier puts
        # both claims of one order in flight together, ten times over to give a race its chance.
        orders = [
            Order.objects.create(**CUSTOMER, confirmation_status=ConfirmationStatus.QUEUED)
            for _ in range(self.ORDERS)
        ]
        start_together = threading.Barrier(2)
        errors: list[BaseException] = []

        def worker():
            try:
                for order in orders:
                    start_together.wait(timeout=10)
                    order_created.apply(args=[order.id], throw=True)
            except BaseException as error:  # noqa: BLE001 - a thread cannot fail the test; reported below
                errors.append(error)
                start_together.abort()
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        expected = sorted(f"Your order {o.id} at My Shop" for o in orders)
        assert sorted(m.subject for m in mail.outbox) == expected
        assert set(Order.objects.values_list("confirmation_status", "confirmation_attempts")) == {
            (ConfirmationStatus.SENT, 1)
        }


@contextmanager
def broker_down(how="refused"):
    """The web side publishes to a RabbitMQ address where nothing listens, or nothing answers."""
    with ExitStack() as stack:
        port = closed_port() if how == "refused" else stack.enter_context(silent_port())
        stack.enter_context(celery_app_using(f"amqp://guest:guest@127.0.0.1:{port}//"))
        yield


def timed_checkout(client, product):
    """checkout(), and how long the order form's POST took."""
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1, "override": "False"})
    fields = {**checkout_form(client), **CUSTOMER}
    started = time.monotonic()
    response = client.post(reverse("orders:order_create"), fields)
    return response, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
class TestBrokerUnreachable:
    @pytest.mark.parametrize("how", ["refused", "silent"])
    def test_checkout_succeeds_quickly_and_keeps_the_order_pending(self, client, product, how):
        with broker_down(how):
            response, seconds = timed_checkout(client, product)

        order = placed_order(response)
        assert seconds < CHECKOUT_WITH_BROKER_DOWN_MAX_SECONDS
        assert order.confirmation_status == ConfirmationStatus.PENDING
        assert order.items.get().product == product

    @pytest.mark.rabbitmq
    def test_sweep_after_recovery_sends_exactly_one_email(self, client, product, mail_dir, rabbitmq_worker):
        with broker_down():
            order = placed_order(timed_checkout(client, product)[0])
        assert order.confirmation_status == ConfirmationStatus.PENDING

        # Recovery: the app is back on RabbitMQ (rabbitmq_worker's queue) and a worker runs.
        with rabbitmq_worker() as worker:
            assert confirmations_sweep(min_age_seconds=0) == 1

            wait_for_emails(mail_dir, workers=(worker,))
            wait_for_status(order, ConfirmationStatus.SENT)
            assert confirmations_sweep(min_age_seconds=0) == 0
        assert_one_confirmation(sent_emails(mail_dir), order)


@pytest.mark.django_db(transaction=True)
class TestSqs:
    # celery_sqs_broker (tests.support.sqs, loaded by the root conftest): a moto SQS queue
    # with its DLQ, boto3's environment pointing at moto, and this process's app publishing there.

    def test_worker_on_the_sqs_transport_sends_the_confirmation_of_a_checkout(
        self, client, product, tmp_path, mail_dir, celery_sqs_broker
    ):
        queue = celery_sqs_broker
        endpoint = os.environ["AWS_ENDPOINT_URL"]  # moto's, set by the fixture
        sqs_env = {
            "CELERY_BROKER_URL": "sqs://",
            "CELERY_SQS_QUEUE_URL": queue.url,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": queue.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        order = placed_order(checkout(client, product))
        assert order.confirmation_status == ConfirmationStatus.QUEUED
        assert queue.attributes()["ApproximateNumberOfMessages"] == "1"

        with Worker(mail_dir=mail_dir, log_path=tmp_path / "worker.log", broker_env=sqs_env) as worker:
            wait_for_emails(mail_dir, workers=(worker,))
            wait_for_status(order, ConfirmationStatus.SENT)

            def message_deleted():
                # Acknowledged: otherwise SQS would deliver it again after the visibility timeout.
                attributes = queue.attributes()
                return attributes["ApproximateNumberOfMessages"] == attributes[
                    "ApproximateNumberOfMessagesNotVisible"] == "0"

            wait_for(message_deleted, timeout=STATUS_SETTLES_SECONDS, what="message deleted from SQS")
        assert_one_confirmation(sent_emails(mail_dir), order)
        assert queue.receive_dead_letters() == []


class KillingInbox:
    """aiosmtpd handler: keeps every message, and kills `victim` once it has taken one.

    The kill comes after the message is stored and before the "250" reply: the mail server has
    accepted the e-mail, and the worker that sent it never learns so.
    """

    def __init__(self):
        self.arrivals: list[tuple[datetime, str]] = []
        self.victim: Worker | None = None

    async def handle_DATA(self, server, session, envelope):
        subject = email.message_from_bytes(envelope.content)["Subject"]
        self.arrivals.append((timezone.now(), subject))
        if self.victim is not None:
            self.victim.process.kill()
            self.victim = None
        return "250 Message accepted for delivery"


@pytest.fixture
def killing_smtp():
    inbox = KillingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


class SilentOnceInbox:
    """aiosmtpd handler: keeps every message; the first one it never answers (until the test
    ends), as a server that took the e-mail and went quiet; the others it accepts."""

    def __init__(self):
        self.arrivals: list[tuple[datetime, str]] = []
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.arrivals.append((timezone.now(), email.message_from_bytes(envelope.content)["Subject"]))
        if len(self.arrivals) == 1:
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


@pytest.fixture
def silent_once_smtp():
    inbox = SilentOnceInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=closed_port())
    controller.start()
    yield inbox, controller.port
    inbox.release.set()
    controller.stop()


def rabbitmq_message_count(queue: str) -> int:
    with celery_app_using(RABBITMQ_URL), app.connection_for_write() as broker:
        return broker.default_channel.queue_declare(queue, passive=True).message_count


@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
class TestConfirmationPromiseOnRabbitMQ:
    # Short, so that the test can see what happens after it; the shop's is 15 minutes.
    LEASE_SECONDS = 6

    def test_publish_into_a_dead_connection_leaves_the_order_pending(self, product):
        queue = unique_queue_name()
        first, second = OrderFactory(), OrderFactory()
        try:
            with TcpProxy(("127.0.0.1", 5672)) as proxy, celery_app_using(
                f"amqp://guest:guest@127.0.0.1:{proxy.port}//", queue=queue
            ):
                # The producer pool now holds a connection through the proxy.
                assert services.order_confirmation_publish(order_id=first.id)
                proxy.go_silent()  # the broker host dies, or the network path drops
                queued = services.order_confirmation_publish(order_id=second.id)

            second.refresh_from_db()
            assert (queued, second.confirmation_status) == (False, ConfirmationStatus.PENDING)
            assert rabbitmq_message_count(queue) == 1  # the first order's message only
        finally:
            with celery_app_using(RABBITMQ_URL):
                delete_queue(queue)

    def test_worker_killed_after_the_mail_server_accepted_sends_one_duplicate_after_the_lease(
        self, client, product, tmp_path, mail_dir, rabbitmq_queue, killing_smtp
    ):
        inbox, smtp_port = killing_smtp
        smtp = {"DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "DJANGO_EMAIL_HOST": "127.0.0.1", "DJANGO_EMAIL_PORT": str(smtp_port),
                "SHOP_CONFIRMATION_LEASE_SECONDS": str(self.LEASE_SECONDS)}

        def make(name):
            return Worker(mail_dir=mail_dir, log_path=tmp_path / f"{name}.log", name=name,
                          broker_env={"CELERY_BROKER_URL": RABBITMQ_URL}, queue=rabbitmq_queue,
                          extra_env=smtp)

        killed = make("killed")
        with killed:
            inbox.victim = killed
            order = placed_order(checkout(client, product))
            wait_for(lambda: killed.process.poll() is not None, timeout=STATUS_SETTLES_SECONDS,
                     what="the first worker killed by the mail server")
        order.refresh_from_db()
        first_claim = order.confirmation_claimed_at
        assert (order.confirmation_status, len(inbox.arrivals)) == (ConfirmationStatus.SENDING, 1)

        # RabbitMQ delivers the unacknowledged message again, to the worker that is left.
        with make("survivor") as survivor:
            wait_for_status_within(order, ConfirmationStatus.SENT, self.LEASE_SECONDS + 20, survivor)
            time.sleep(2)  # room for a third e-mail, which must not come
            survivor.assert_alive()

        assert [subject for _, subject in inbox.arrivals] == [f"Your order {order.id} at My Shop"] * 2
        duplicate_at = inbox.arrivals[1][0]
        assert duplicate_at >= first_claim + timedelta(seconds=self.LEASE_SECONDS), (
            f"the duplicate came {(duplicate_at - first_claim).total_seconds():.1f} s after the claim"
        )
        assert confirmations_sweep(min_age_seconds=0) == 0


    def test_send_of_unknown_outcome_is_sent_again_only_after_the_lease(
        self, client, product, tmp_path, mail_dir, rabbitmq_queue, silent_once_smtp
    ):
        inbox, smtp_port = silent_once_smtp
        smtp = {"DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "DJANGO_EMAIL_HOST": "127.0.0.1", "DJANGO_EMAIL_PORT": str(smtp_port),
                "SHOP_CONFIRMATION_LEASE_SECONDS": str(self.LEASE_SECONDS)}
        worker = Worker(mail_dir=mail_dir, log_path=tmp_path / "worker.log", name="worker",
                        broker_env={"CELERY_BROKER_URL": RABBITMQ_URL}, queue=rabbitmq_queue, extra_env=smtp)

        with worker:
            order = placed_order(checkout(client, product))

            def first_send_failed():
                order.refresh_from_db()
                return order.confirmation_error

            # EMAIL_TIMEOUT (5 s) after the message, the worker gives up waiting for the "250".
            wait_for(first_send_failed, timeout=STATUS_SETTLES_SECONDS, what="the first send failed")
            first_claim = order.confirmation_claimed_at
            assert (order.confirmation_status, len(inbox.arrivals)) == (ConfirmationStatus.SENDING, 1)
            # The handed-on copy takes it again once the lease is over; the server answers now.
            wait_for_status_within(order, ConfirmationStatus.SENT, self.LEASE_SECONDS + 20, worker)
            time.sleep(2)  # room for a third e-mail, which must not come
            worker.assert_alive()

        assert [subject for _, subject in inbox.arrivals] == [f"Your order {order.id} at My Shop"] * 2
        again_at = inbox.arrivals[1][0]
        assert again_at >= first_claim + timedelta(seconds=self.LEASE_SECONDS), (
            f"sent again {(again_at - first_claim).total_seconds():.1f} s after the claim"
        )
        assert confirmations_sweep(min_age_seconds=0) == 0


def wait_for_status_within(order: Order, status: str, seconds: float, worker: Worker) -> None:
    def reached():
        worker.assert_alive()
        order.refresh_from_db()
        return order.confirmation_status == status

    wait_for(reached, timeout=seconds, what=f"order {order.id} {status} (it is {order.confirmation_status})")


@pytest.mark.django_db(transaction=True)
class TestInvoiceWorker:
    def test_worker_sends_one_pdf_invoice_for_a_paid_order_delivered_twice(self, tmp_path, mail_dir):
        # The cheapest real worker (the embedded broker, as under `make run`): the payment's
        # commit publishes payment_completed, a redelivery follows, one invoice goes out.
        folder = tmp_path / "broker"
        folder.mkdir()
        options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
                   "control_folder": str(folder)}
        order = OrderFactory(**CUSTOMER, confirmation_status=ConfirmationStatus.SENT)
        OrderItemFactory.create_batch(2, order=order)
        with celery_app_using("filesystem://", transport_options=options):
            with transaction.atomic():
                Order.objects.filter(id=order.id).update(status=OrderStatus.PAID, paid=True)
                order_paid.send(sender=Order, order_id=order.id)
            payment_completed.apply_async(args=[order.id])  # the broker delivers it again
            with Worker(mail_dir=mail_dir, log_path=tmp_path / "worker.log",
                        broker_env={"CELERY_FILESYSTEM_BROKER_DIR": str(folder)}) as worker:
                # order_paid publishes the bought-together count too: only the invoice's runs count.
                invoice_runs = re.compile(r"payment_completed\[[^]]+\] succeeded in")
                wait_for(lambda: len(invoice_runs.findall(worker.log())) == 2,
                         timeout=STATUS_SETTLES_SECONDS, what="both deliveries run")
        [message] = sent_emails(mail_dir)
        assert message["Subject"] == f"My Shop - Invoice no. {order.id}"
        [pdf] = [part for part in message.walk() if part.get_filename() == f"invoice_{order.id}.pdf"]
        assert pdf.get_payload(decode=True).startswith(b"%PDF-")
        order.refresh_from_db()
        assert (order.invoice_status, order.invoice_attempts) == (ConfirmationStatus.SENT, 1)
