"""The worker Lambda: SQS records published by Celery to moto, run through the real handler."""

import base64
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import django
import pytest
from celery import shared_task
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse

from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tasks import CONFIRMATION_FIRST_RETRY_SECONDS, CONFIRMATION_MAX_RETRIES, order_created
from apps.orders.tests.checkout import place_order
from apps.orders.tests.factories import OrderItemFactory
from apps.shop.tests.factories import ProductFactory
from shop_project.celery import app as celery_app
from shop_project.lambda_worker import container, handler
from shop_project.lambda_worker.messages import UndecodableMessageError, celery_message_decode
from shop_project.logs import RequestIdsFilter

# The fixtures: moto_sqs_server, sqs_queue_on_moto, celery_sqs_broker (an SqsQueue).

CUSTOMER = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
    "address": "12 Analytical St", "postal_code": "10001", "city": "London",
}


class UnreachableMailServer(BaseEmailBackend):
    """The e-mail backend of a mail server that cannot be reached: every send fails."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server unreachable")


@shared_task(name="tests.lambda_worker.explode")
def explode():
    raise RuntimeError("the task itself failed")


@pytest.fixture(autouse=True)
def warm_container(monkeypatch):
    """A container past its first invocation: pytest-django has set Django up already."""
    monkeypatch.setattr(container, "_django_ready", True)


@pytest.fixture
def unreachable_mail_server(settings):
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableMailServer"


def received_event(queue, *, expected: int = 1) -> dict:
    messages = queue.receive()
    assert len(messages) == expected
    return queue.lambda_event(messages)


def early_record(queue, body: str) -> dict:
    """A record SQS delivered before its DelaySeconds were over (as if they had been lost)."""
    message = {
        "MessageId": "early-record",
        "ReceiptHandle": "early-record-receipt",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Attributes": {"ApproximateReceiveCount": "1"},
    }
    return queue.lambda_record(message)


def kombu_envelope(**headers) -> dict:
    """A Celery message as kombu's SQS transport writes it, before the outer base64."""
    celery_body = json.dumps([[1], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return {
        "body": base64.b64encode(celery_body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"lang": "py", "task": "apps.orders.tasks.order_created", "id": "task-1",
                    "eta": None, "expires": None, "retries": 0, **headers},
        "properties": {"delivery_info": {"exchange": "", "routing_key": "celery"},
                       "body_encoding": "base64", "priority": 0},
    }


def sqs_body(envelope) -> str:
    return base64.b64encode(json.dumps(envelope).encode()).decode()


def failed_ids(response: dict) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


class TestCeleryMessageDecode:
    def test_reads_the_task_and_its_arguments_as_kombu_wrote_them(self, celery_sqs_broker):
        result = order_created.apply_async(kwargs={"order_id": 7})

        (message,) = celery_sqs_broker.receive()
        decoded = celery_message_decode(body=message["Body"])

        assert decoded.task == "apps.orders.tasks.order_created"
        assert decoded.id == result.id
        assert (decoded.args, decoded.kwargs, decoded.retries) == ([], {"order_id": 7}, 0)
        assert decoded.eta is None and decoded.expires is None

    def test_reads_an_envelope_written_without_base64(self):
        decoded = celery_message_decode(body=json.dumps(kombu_envelope(eta="2030-01-01T00:00:00")))

        assert decoded.args == [1]
        assert decoded.eta == datetime(2030, 1, 1, tzinfo=UTC)

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param("", id="empty"),
            pytest.param("this is not base64!", id="not-base64"),
            pytest.param(base64.b64encode(b"{not json").decode(), id="not-json"),
            pytest.param(base64.b64encode(b"\xff\xfe").decode(), id="not-utf8"),
            pytest.param(sqs_body([1, 2]), id="envelope-not-an-object"),
            pytest.param(sqs_body({**kombu_envelope(), "content-type": "application/x-python-serialize"}),
                         id="pickle"),
            pytest.param(sqs_body(kombu_envelope(task=None)), id="no-task-header"),
            pytest.param(sqs_body(kombu_envelope(retries=-1)), id="negative-retries"),
            pytest.param(sqs_body(kombu_envelope(eta="next tuesday")), id="bad-eta"),
            pytest.param(sqs_body({**kombu_envelope(), "body": "W10="}), id="body-not-protocol-2"),
            pytest.param(sqs_body({**kombu_envelope(), "body": base64.b64encode(
                b'[[{"__type__": "decimal", "__value__": "x"}], {}, {}]').decode()}), id="bad-typed-value"),
            pytest.param(None, id="none"),
        ],
    )
    def test_refuses_what_is_not_a_celery_message(self, body):
        with pytest.raises(UndecodableMessageError):
            celery_message_decode(body=body)


@pytest.mark.django_db(transaction=True)
class TestLambdaWorker:
    def test_checkout_confirmation_is_sent_by_the_worker(self, celery_sqs_broker):
        product = ProductFactory(stock=3)
        shopper = Client()
        shopper.post(reverse("cart:cart_add", args=[product.id]), {"quantity": 1})
        place_order(shopper, CUSTOMER)
        order = Order.objects.get()
        assert order.confirmation_status == ConfirmationStatus.QUEUED

        response = handler(received_event(celery_sqs_broker), None)

        assert response == {"batchItemFailures": []}
        assert [message.to for message in mail.outbox] == [[CUSTOMER["email"]]]
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.SENT

    def test_a_record_delivered_twice_sends_one_email(self, celery_sqs_broker, order):
        order_created.delay(order.id)
        event = received_event(celery_sqs_broker)

        assert handler(event, None) == {"batchItemFailures": []}
        assert handler(event, None) == {"batchItemFailures": []}

        assert len(mail.outbox) == 1

    def test_only_poison_records_are_reported_and_the_good_one_runs(self, celery_sqs_broker, order, caplog):
        order_created.delay(order.id)
        celery_app.send_task("apps.orders.tasks.no_such_task", args=[1])
        explode.delay()
        event = received_event(celery_sqs_broker, expected=3)
        template = event["Records"][0]
        event["Records"] += [
            {**template, "messageId": "not-base64", "body": "this is not base64!"},
            {**template, "messageId": "not-json", "body": base64.b64encode(b"{not json").decode()},
        ]
        by_task = {celery_message_decode(body=r["body"]).task: r["messageId"] for r in event["Records"][:3]}
        caplog.set_level("INFO", logger="shop_project.lambda_worker")

        response = handler(event, None)

        assert failed_ids(response) == {
            by_task["apps.orders.tasks.no_such_task"], by_task["tests.lambda_worker.explode"],
            "not-base64", "not-json",
        }
        assert len(mail.outbox) == 1
        lines = [json.loads(r.message) for r in caplog.records if r.name == "shop_project.lambda_worker"]
        assert sorted((line["message_id"], line["outcome"]) for line in lines) == sorted(
            (record["messageId"], "failed" if record["messageId"] in failed_ids(response) else "ok")
            for record in event["Records"]
        )
        assert all(isinstance(line["duration_ms"], float) for line in lines)

    def test_each_task_logs_one_line_with_the_invocations_request_id(self, celery_sqs_broker, order, caplog):
        order_created.delay(order.id)
        context = SimpleNamespace(aws_request_id="0d1f6c1e-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
                                  get_remaining_time_in_millis=lambda: 30_000)
        caplog.set_level("INFO", logger="shop_project.task")
        caplog.handler.addFilter(RequestIdsFilter())  # as production's handler has it

        assert handler(received_event(celery_sqs_broker), context) == {"batchItemFailures": []}

        [task] = [r for r in caplog.records if r.name == "shop_project.task"]
        assert (task.task, task.state, task.retries, task.order_id) == (
            "apps.orders.tasks.order_created", "SUCCESS", 0, order.id)
        assert task.lambda_request_id == context.aws_request_id
        [record] = [r for r in caplog.records if r.name == "shop_project.lambda_worker"]
        assert record.lambda_request_id == context.aws_request_id

    def test_a_poison_record_ends_in_the_dead_letter_queue(self, celery_sqs_broker):
        queue = celery_sqs_broker
        queue.client.send_message(QueueUrl=queue.url, MessageBody="not a Celery message")

        for _ in range(queue.max_receive_count):
            event = received_event(queue)
            queue.settle(event, handler(event, None))

        assert queue.receive() == []
        assert [m["Body"] for m in queue.receive_dead_letters()] == ["not a Celery message"]

    def test_a_countdown_is_held_by_sqs_not_by_the_worker(self, celery_sqs_broker, order):
        order_created.apply_async(args=[order.id], countdown=60)

        assert celery_sqs_broker.receive() == []
        assert celery_sqs_broker.attributes()["ApproximateNumberOfMessagesDelayed"] == "1"
        assert [m.delay_seconds for m in celery_sqs_broker.delayed_messages()] == [60]

    @pytest.mark.parametrize(
        ("countdown", "queue_url_from"),
        [(60, "CELERY_SQS_QUEUE_URL"), (3600, "eventSourceARN")],
        ids=["60s-to-setting-queue", "1h-to-record-queue"],
    )
    def test_a_record_arriving_before_its_eta_is_queued_again_unrun(
        self, celery_sqs_broker, order, settings, countdown, queue_url_from
    ):
        if queue_url_from == "eventSourceARN":
            settings.CELERY_SQS_QUEUE_URL = ""
        order_created.apply_async(args=[order.id], countdown=countdown)
        (held,) = celery_sqs_broker.delayed_messages()

        response = handler({"Records": [early_record(celery_sqs_broker, held.body)]}, None)

        assert response == {"batchItemFailures": []}
        assert mail.outbox == []
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.PENDING
        original, again = celery_sqs_broker.delayed_messages()
        assert original == held
        assert again.body == held.body
        # SQS holds a message for 15 minutes at most; a later eta is held again on arrival.
        assert again.delay_seconds in {min(countdown, 900) - 1, min(countdown, 900)}

    def test_a_transient_email_failure_is_retried_by_a_delayed_message(
        self, celery_sqs_broker, order, unreachable_mail_server
    ):
        result = order_created.delay(order.id)

        response = handler(received_event(celery_sqs_broker), None)

        assert response == {"batchItemFailures": []}
        (retry,) = celery_sqs_broker.delayed_messages()
        assert retry.delay_seconds == CONFIRMATION_FIRST_RETRY_SECONDS
        message = celery_message_decode(body=retry.body)
        assert (message.id, message.args, message.retries) == (result.id, [order.id], 1)
        due_in = (message.eta - datetime.now(UTC)).total_seconds()
        assert CONFIRMATION_FIRST_RETRY_SECONDS - 5 < due_in <= CONFIRMATION_FIRST_RETRY_SECONDS
        order.refresh_from_db()
        assert (order.confirmation_status, order.confirmation_attempts) == (ConfirmationStatus.QUEUED, 1)

    def test_exhausted_retries_are_reported_and_the_order_marked_failed(
        self, celery_sqs_broker, order, unreachable_mail_server
    ):
        order_created.apply_async(args=[order.id], retries=CONFIRMATION_MAX_RETRIES)
        event = received_event(celery_sqs_broker)

        response = handler(event, None)

        assert failed_ids(response) == {event["Records"][0]["messageId"]}
        assert celery_sqs_broker.delayed_messages() == []
        order.refresh_from_db()
        assert order.confirmation_status == ConfirmationStatus.FAILED
        assert "mail server unreachable" in order.confirmation_error

    def test_an_expired_message_is_dropped_unrun(self, celery_sqs_broker, order):
        order_created.apply_async(args=[order.id], expires=datetime.now(UTC) - timedelta(minutes=1))

        response = handler(received_event(celery_sqs_broker), None)

        assert response == {"batchItemFailures": []}
        assert mail.outbox == []
        assert celery_sqs_broker.delayed_messages() == []

    def test_django_is_set_up_once_per_container(self, celery_sqs_broker, monkeypatch):
        monkeypatch.setattr(container, "_django_ready", False)  # a cold start
        calls = []
        real_setup = django.setup

        def counted_setup(*args, **kwargs):
            calls.append(1)
            real_setup(*args, **kwargs)

        monkeypatch.setattr(django, "setup", counted_setup)
        orders = [OrderItemFactory().order for _ in range(3)]
        for one in orders:
            order_created.delay(one.id)
        first, second = celery_sqs_broker.receive(max_messages=2), celery_sqs_broker.receive()

        handler(celery_sqs_broker.lambda_event(first), None)
        handler(celery_sqs_broker.lambda_event(second), None)

        assert len(calls) == 1
        assert len(mail.outbox) == 3


class TestLambdaWorkerOddEvents:
    @pytest.mark.parametrize(
        "event", [{}, {"Records": "none"}, None, []], ids=["empty", "records-not-a-list", "none", "list"]
    )
    def test_an_event_without_records_reports_nothing(self, event):
        assert handler(event, None) == {"batchItemFailures": []}

    def test_a_record_without_a_body_is_reported(self):
        response = handler({"Records": [{"messageId": "m-1"}]}, None)

        assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}

    def test_a_record_that_is_not_an_object_fails_the_whole_batch(self):
        # An empty itemIdentifier is Lambda's way to fail a batch: nothing unnamed is lost.
        assert handler({"Records": [None]}, None) == {"batchItemFailures": [{"itemIdentifier": ""}]}


def cold_python(code: str, **environment: str) -> str:
    """Run `code` in a new Python process, a fresh container; what it prints."""
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], env={**env, **environment}, cwd=django_settings.BASE_DIR,
        capture_output=True, text=True, timeout=60, check=True,
    )
    return result.stdout


class TestLambdaWorkerColdStart:
    def test_first_invocation_registers_the_apps_tasks(self):
        printed = cold_python(
            "from shop_project.celery import app\n"
            "from shop_project.lambda_worker import handler\n"
            "print('apps.orders.tasks.order_created' in app.tasks)\n"
            "handler({'Records': []}, None)\n"
            "print('apps.orders.tasks.order_created' in app.tasks)\n",
            DJANGO_SETTINGS_MODULE="shop_project.settings.test",
        )

        assert printed.split() == ["False", "True"]

    def test_production_settings_are_the_default_on_lambda(self):
        printed = cold_python(
            "import os, shop_project.lambda_worker\nprint(os.environ['DJANGO_SETTINGS_MODULE'])\n",
            AWS_LAMBDA_FUNCTION_NAME="shop-worker", DJANGO_SECRET_KEY="x", DJANGO_ALLOWED_HOSTS="x",
        )

        assert printed.strip() == "shop_project.settings.production"

    @pytest.mark.parametrize("imported_first", ["shop_project.lambda_worker", "apps.orders.lambda_handlers"])
    def test_the_sweeps_old_entry_names_the_same_handler(self, imported_first):
        # Zappa finds a scheduled function as import_module(path) then getattr(module, name); the
        # rule that a `zappa update` has not replaced yet names the old path.
        printed = cold_python(
            "import importlib\n"
            f"importlib.import_module({imported_first!r})\n"
            "old_module = importlib.import_module('shop_project.lambda_worker')\n"
            "old = getattr(old_module, 'confirmations_sweep_handler')\n"
            "from apps.orders.lambda_handlers import confirmations_sweep_handler as new\n"
            "print(old is new)\n",
            DJANGO_SETTINGS_MODULE="shop_project.settings.test",
        )

        assert printed.split() == ["True"]
