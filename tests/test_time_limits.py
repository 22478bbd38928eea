"""Nothing waits forever: e-mail and SES timeouts, task time limits, the Lambda's and the queue's.

The configuration is checked against zappa_settings.json (every stage) and infra/template.yaml;
a mail server that accepts connections and never greets is a real socket on loopback, and the
confirmation task meets it through the worker Lambda's handler.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import shared_task
from django.conf import settings as django_settings
from django.core.management.utils import get_random_secret_key

from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tasks import CONFIRMATION_FIRST_RETRY_SECONDS, order_created
from apps.orders.tests.factories import OrderFactory, OrderItemFactory
from infra import deploy
from shop_project.lambda_worker import container, handler

ROOT = Path(django_settings.BASE_DIR)
# AWS's rule for a queue a Lambda consumes: its visibility timeout at least six times the
# function's timeout, or a batch still running is delivered to a second invocation.
VISIBILITY_FACTOR = 6
# How long the test lets a send wait before it closes the silent server itself.
HANG_BOUND_SECONDS = 20


def zappa_stages() -> dict[str, dict]:
    settings = deploy.read_zappa_settings(ROOT / "zappa_settings.json")
    return {stage: deploy.stage_settings(settings, stage) for stage in settings}


def function_timeout(stage: dict) -> int:
    return int(stage.get("timeout_seconds", deploy.ZAPPA_DEFAULT_TIMEOUT_SECONDS))


def template_queue_visibility(timeout_seconds: int) -> int:
    from cfnlint.decode import decode  # cfn-lint's reader knows the !Ref short forms

    template, problems = decode(str(ROOT / "infra" / "template.yaml"))
    assert not problems, problems
    allowed = template["Parameters"]["FunctionTimeoutSeconds"]["AllowedValues"]
    assert str(timeout_seconds) in allowed, f"timeout_seconds {timeout_seconds} is not a template value"
    return int(template["Mappings"]["QueueVisibility"][str(timeout_seconds)]["Seconds"])


def production_ses_config() -> dict:
    """AWS_SES_CONFIG of the production settings, read in a fresh process as Lambda loads them."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); c = settings.AWS_SES_CONFIG; "
        "print(json.dumps({'connect_timeout': c.connect_timeout, 'read_timeout': c.read_timeout, "
        "'retries': c.retries}))"
    )
    ours = ("DJANGO_", "DATABASE_", "CELERY_", "AWS_")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env = {**keep, "DJANGO_SETTINGS_MODULE": "shop_project.settings.production",
           "DJANGO_SECRET_KEY": get_random_secret_key(), "DJANGO_STORAGE": "local",
           "DJANGO_ALLOWED_HOSTS": "shop.example.com",
           "DATABASE_URL": "postgres://shop@db.internal/shop", "CELERY_BROKER_URL": "sqs://",
           "AWS_REGION": "eu-west-1", "STRIPE_PUBLISHABLE_KEY": "pk_test_time-limits",
           "STRIPE_SECRET_KEY": "sk_test_time-limits",  # pragma: allowlist secret
           "STRIPE_WEBHOOK_SECRET": "whsec_time-limits"}  # pragma: allowlist secret
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])  # after the JSON log lines of the start


@pytest.mark.parametrize("stage_name", sorted(zappa_stages()))
class TestTimeLimitsOfEachStage:
    def test_task_time_limits_end_before_the_worker_lambda_does(self, stage_name):
        timeout = function_timeout(zappa_stages()[stage_name])
        soft = django_settings.CELERY_TASK_SOFT_TIME_LIMIT
        hard = django_settings.CELERY_TASK_TIME_LIMIT

        assert 0 < soft < hard < timeout, (soft, hard, timeout)

    def test_a_send_is_tried_once_and_gives_up_before_the_soft_time_limit(self, stage_name):
        soft = django_settings.CELERY_TASK_SOFT_TIME_LIMIT
        ses = production_ses_config()
        ses_worst = (ses["connect_timeout"] + ses["read_timeout"]) * ses["retries"]["max_attempts"]

        # botocore's own retry sends SendRawEmail again after a late answer (a read timeout) or a
        # 5xx, which SES may have accepted: a second e-mail within seconds. The task's retries,
        # with their backoff and the claim, stand in for it.
        assert ses["retries"]["max_attempts"] == 1, ses["retries"]
        assert 0 < django_settings.EMAIL_TIMEOUT < soft
        assert ses_worst < soft, f"SES may wait {ses_worst} s, the soft time limit is {soft} s"

    def test_queue_visibility_is_at_least_six_times_the_function_timeout(self, stage_name):
        stage = zappa_stages()[stage_name]
        timeout = function_timeout(stage)
        # What `celery worker` on SQS asks for (kombu's visibility_timeout), as the stage sets it.
        environment = stage.get("aws_environment_variables", {})
        celery_visibility = int(environment.get("CELERY_SQS_VISIBILITY_TIMEOUT",
                                                django_settings.CELERY_SQS_VISIBILITY_TIMEOUT))

        assert template_queue_visibility(timeout) >= VISIBILITY_FACTOR * timeout
        assert celery_visibility >= VISIBILITY_FACTOR * timeout, (celery_visibility, timeout)


class SilentMailServer:
    """A loopback port that accepts SMTP connections and never sends the greeting.

    The kernel completes the handshake into the listen backlog, so a client is connected and
    waits for "220"; closing the listener resets those connections (the test's own bound).
    """

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.closed_by_the_test = False

    def close_after(self, seconds: float) -> threading.Timer:
        def close():
            self.closed_by_the_test = True
            self.listener.close()

        timer = threading.Timer(seconds, close)
        timer.daemon = True
        timer.start()
        return timer

    def close(self):
        self.listener.close()


@pytest.fixture
def silent_mail_server(settings):
    server = SilentMailServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.close()


@pytest.fixture
def warm_container(monkeypatch):
    monkeypatch.setattr(container, "_django_ready", True)


@shared_task(name="tests.time_limits.sleepy")
def sleepy(seconds):
    time.sleep(seconds)


# transaction=True: the worker Lambda closes database connections around each task.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("warm_container")
class TestSilentMailServer:
    def test_the_send_gives_up_and_the_confirmation_is_retried(self, celery_sqs_broker, silent_mail_server):
        order = OrderItemFactory(order=OrderFactory()).order
        order_created.delay(order.id)
        event = celery_sqs_broker.lambda_event(celery_sqs_broker.receive())

        bound = silent_mail_server.close_after(HANG_BOUND_SECONDS)
        response = handler(event, None)
        bound.cancel()

        assert not silent_mail_server.closed_by_the_test, (
            f"the send was still waiting for the greeting after {HANG_BOUND_SECONDS} s"
        )
        assert response == {"batchItemFailures": []}  # the retry is a new, delayed message
        order = Order.objects.get(id=order.id)
        assert order.confirmation_status == ConfirmationStatus.QUEUED
        assert "timed out" in order.confirmation_error
        [retry] = celery_sqs_broker.delayed_messages()
        assert retry.delay_seconds == CONFIRMATION_FIRST_RETRY_SECONDS


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("warm_container")
class TestWorkerLambdaTimeLimits:
    def test_a_task_past_its_soft_time_limit_is_stopped_and_reported(self, celery_sqs_broker):
        sleepy.apply_async(args=[8], soft_time_limit=1)
        event = celery_sqs_broker.lambda_event(celery_sqs_broker.receive())

        started = time.monotonic()
        response = handler(event, None)

        assert len(response["batchItemFailures"]) == 1, "the task ran on past its soft time limit"
        assert time.monotonic() - started < 5

    def test_records_the_invocation_has_no_time_left_for_go_back_to_the_queue(self, celery_sqs_broker):
        order = OrderItemFactory(order=OrderFactory()).order
        order_created.delay(order.id)
        [message] = celery_sqs_broker.receive()
        event = celery_sqs_broker.lambda_event([message])

        response = handler(event, LambdaContext(remaining_seconds=0.5))

        # Not run, not failed (a failure would count toward the dead-letter policy): sent back.
        assert response == {"batchItemFailures": []}
        assert Order.objects.get(id=order.id).confirmation_status == ConfirmationStatus.PENDING
        [again] = celery_sqs_broker.receive()
        assert again["Body"] == message["Body"]


class LambdaContext:
    """The part of Lambda's context the handler reads: the time left in the invocation."""

    def __init__(self, *, remaining_seconds: float):
        self._deadline = time.monotonic() + remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)
