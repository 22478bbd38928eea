"""Amazon SQS on moto for tests and benchmarks: a loopback server, queues with a DLQ, Celery on them.

Everything talks to a real (moto) SQS endpoint over HTTP, so boto3, kombu's SQS transport and
the worker Lambda run unmodified. The pieces, from the bottom up:

- `moto_server()`: a ThreadedMotoServer on 127.0.0.1 and a free port (the `moto_sqs_server`
  fixture keeps one for the session).
- `aws_environment(server)`: the environment boto3 reads (AWS_ENDPOINT_URL and the region,
  dummy credentials), set for a block and restored afterwards.
- `sqs_queue(server)`: a queue with a unique name and its dead-letter queue (redrive policy),
  deleted afterwards. `SqsQueue` receives, peeks at delayed messages, and settles a batch the
  way Lambda does.
- `celery_on_sqs(queue)`: the Celery app publishes to that queue (broker "sqs://", a predefined
  queue "celery") and settings.CELERY_SQS_QUEUE_URL names it; all restored afterwards.
- `lambda_sqs_event(messages, queue=...)` (or `queue.lambda_event(messages)`): received
  messages as the SQS event Lambda delivers.

The pytest fixtures over these (`moto_sqs_server`, `sqs_queue_on_moto`, `celery_sqs_broker`)
are in tests/support/sqs.py.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from django.test import override_settings
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sqs.models import sqs_backends

from devtools import moto_cloudwatch
from devtools.workers import celery_app_using

REGION = "eu-west-1"
# Low, so that a test can drive a poison message into the DLQ in a few receives.
MAX_RECEIVE_COUNT = 3
# The queue name kombu uses for Celery's default queue (CELERY_TASK_DEFAULT_QUEUE).
CELERY_QUEUE_NAME = "celery"


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    region: str = REGION


@contextmanager
def moto_server(*, region: str = REGION, wrap_app: Callable | None = None) -> Iterator[MotoServer]:
    """A moto server in a thread of this process, on loopback and a port the OS picks.

    wrap_app(app) -> app puts WSGI middleware in front of moto (a route moto lacks); werkzeug's
    server reads `app` on every request, so it is swapped on the running server.
    """
    # infra/template.yaml's alarms: moto's CloudFormation has no model of its own for them.
    moto_cloudwatch.register()
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    # One access-log line per request would bury a failing test's own output.
    werkzeug.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        if wrap_app is not None:
            server._server.app = wrap_app(server._server.app)
        host, port = server.get_host_and_port()
        yield MotoServer(endpoint_url=f"http://{host}:{port}", region=region)
    finally:
        server.stop()
        werkzeug.setLevel(level)


def aws_environment_variables(server: MotoServer) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_DEFAULT_REGION": server.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


@contextmanager
def aws_environment(server: MotoServer) -> Iterator[None]:
    """Point boto3 (and so kombu) at the moto server, with dummy credentials; restore after.

    AWS_ENDPOINT_URL is boto3's own variable, the one the deployed code would be given too.
    """
    values = aws_environment_variables(server)
    # Real credentials or profiles of the developer's machine must not be picked up instead.
    unset = ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_REGION"]
    saved = {name: os.environ.get(name) for name in [*values, *unset]}
    os.environ.update(values)
    for name in unset:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class DelayedMessage:
    body: str
    delay_seconds: int  # the DelaySeconds it was sent with


@dataclass(frozen=True)
class SqsQueue:
    """A queue on the moto server, its dead-letter queue, and a boto3 client for both."""

    name: str
    url: str
    arn: str
    dlq_url: str
    region: str
    endpoint_url: str
    max_receive_count: int
    client: object

    def broker_environment(self) -> dict[str, str]:
        """The environment a separate process (e.g. `celery worker`) needs to use this queue.

        The test settings read CELERY_BROKER_URL and CELERY_SQS_QUEUE_URL from it, and boto3
        the rest; the moto server is reachable from other processes on loopback.
        """
        return {
            **aws_environment_variables(MotoServer(endpoint_url=self.endpoint_url, region=self.region)),
            "CELERY_BROKER_URL": "sqs://",
            "CELERY_SQS_QUEUE_URL": self.url,
        }

    def receive(self, *, max_messages: int = 10, url: str | None = None) -> list[dict]:
        """Messages visible now (no waiting), with their attributes, as boto3 returns them."""
        response = self.client.receive_message(
            QueueUrl=url or self.url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def lambda_event(self, messages: Iterable[dict]) -> dict:
        """lambda_sqs_event() for messages received from this queue."""
        return lambda_sqs_event(messages, queue=self)

    def lambda_record(self, message: dict) -> dict:
        """lambda_sqs_record() for a message received from this queue."""
        return lambda_sqs_record(message, queue=self)

    def receive_dead_letters(self) -> list[dict]:
        return self.receive(url=self.dlq_url)

    def attributes(self) -> dict[str, str]:
        """The queue's attributes, e.g. ApproximateNumberOfMessagesDelayed."""
        return self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]

    def delayed_messages(self) -> list[DelayedMessage]:
        """The messages SQS still holds back (DelaySeconds not over yet), with their delay.

        SQS has no call that shows a delayed message, so this reads the in-process moto
        server's state; the bodies are exactly what the sender sent.
        """
        queue = sqs_backends[DEFAULT_ACCOUNT_ID][self.region].get_queue(self.name)
        return [
            DelayedMessage(
                body=message.body,
                delay_seconds=round((message.delayed_until - message.sent_timestamp) / 1000),
            )
            for message in list(queue._messages)
            if message.delayed
        ]

    def settle(self, event: dict, response: dict, *, redeliver_failures_now: bool = True) -> None:
        """Do what Lambda's event-source mapping does with a handler's response.

        Records not named in batchItemFailures are deleted; the failed ones stay, to be
        delivered again once their visibility timeout is over (at once if
        redeliver_failures_now, which a test needs in order to reach maxReceiveCount quickly).
        """
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] in failed:
                if redeliver_failures_now:
                    self.client.change_message_visibility(
                        QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                    )
            else:
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])


@contextmanager
def sqs_queue(
    server: MotoServer, *, max_receive_count: int = MAX_RECEIVE_COUNT, name: str | None = None
) -> Iterator[SqsQueue]:
    """A standard queue and a DLQ after max_receive_count receives.

    Call inside aws_environment(server). Both queues are deleted afterwards; the moto server
    is shared, so the unique default names keep tests apart. A test of the deployed package
    names the queue that zappa_settings.json's event source points at.
    """
    client = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name=server.region)
    name = name or f"shop-{uuid.uuid4().hex[:12]}"
    dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    redrive = {"deadLetterTargetArn": _queue_arn(client, dlq_url), "maxReceiveCount": str(max_receive_count)}
    url = client.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
    arn = _queue_arn(client, url)
    try:
        yield SqsQueue(
            name=name, url=url, arn=arn, dlq_url=dlq_url, region=server.region,
            endpoint_url=server.endpoint_url, max_receive_count=max_receive_count, client=client,
        )
    finally:
        client.delete_queue(QueueUrl=url)
        client.delete_queue(QueueUrl=dlq_url)


def _queue_arn(client, url: str) -> str:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def sqs_transport_options(queue: SqsQueue, **overrides) -> dict:
    """kombu SQS transport options for Celery on `queue`, like those base.py builds for AWS.

    No long polling by default (wait_time_seconds 0): a test that consumes in-process should
    not sit 10 s on an empty queue.
    """
    return {
        "predefined_queues": {CELERY_QUEUE_NAME: {"url": queue.url, "region": queue.region}},
        "region": queue.region,
        "client-config": {"connect_timeout": 1, "read_timeout": 5, "retries": {"max_attempts": 1}},
        "wait_time_seconds": 0,
        **overrides,
    }


@contextmanager
def celery_on_sqs(queue: SqsQueue, **transport_options) -> Iterator[None]:
    """The Celery app publishes to `queue`, and CELERY_SQS_QUEUE_URL names it; restored after.

    transport_options override those of sqs_transport_options().
    """
    options = sqs_transport_options(queue, **transport_options)
    # Celery read its CELERY_ settings once, hence celery_app_using; the Django settings are for
    # the code that reads them, like the worker Lambda (CELERY_SQS_QUEUE_URL).
    with celery_app_using("sqs://", transport_options=options), override_settings(
        CELERY_BROKER_URL="sqs://",
        CELERY_BROKER_TRANSPORT_OPTIONS=options,
        CELERY_SQS_QUEUE_URL=queue.url,
    ):
        yield


def lambda_sqs_event(messages: Iterable[dict], *, queue: SqsQueue) -> dict:
    """The event Lambda's SQS event-source mapping delivers for messages received from `queue`."""
    return {"Records": [lambda_sqs_record(message, queue=queue) for message in messages]}


def lambda_sqs_record(message: dict, *, queue: SqsQueue) -> dict:
    """One record of that event, from a message as boto3's receive_message returns it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": queue.region,
    }
