"""Checkout to confirmation e-mail through real brokers and real `celery worker` processes.

The web side is this test process: it checks out through the site and publishes on commit to
the broker under test. The worker is a subprocess with its own settings, sending e-mail to
files. Data must be committed for the worker to see it, hence transaction=True throughout.
"""

import os
import threading
import time
from contextlib import ExitStack, contextmanager
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse

from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tasks import confirmations_sweep, order_created
from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory
from tests.worker_support import (
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

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
# The bound is "about a second"; the margin is for a loaded CI machine.
CHECKOUT_WITH_BROKER_DOWN_MAX_SECONDS = 1.5
STATUS_SETTLES_SECONDS = 10


def checkout(client, product):
    """Buy one `product` the way a shopper does; the response to the order form's POST."""
    client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1, "override": "False"})
    return client.post(reverse("orders:order_create"), CUSTOMER)


def placed_order(response) -> Order:
    assert response.status_code == 302, response.content.decode()[:500]
    order = Order.objects.get()
    assert response["Location"] == reverse("orders:order_created", args=[order.id])
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
    started = time.monotonic()
    response = client.post(reverse("orders:order_create"), CUSTOMER)
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
    # celery_sqs_broker (tests.sqs_support, loaded by the root conftest): a moto SQS queue
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
