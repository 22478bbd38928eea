"""pytest fixtures for SQS on moto: one server per session, a fresh queue, Celery publishing to it.

The root conftest.py loads this module as a plugin. Example:

    # transaction=True: checkout publishes on commit, and the worker Lambda closes database
    # connections around each task, which a test inside one transaction would not survive.
    @pytest.mark.django_db(transaction=True)
    def test_something(celery_sqs_broker):
        order_created.delay(order.id)
        event = celery_sqs_broker.lambda_event(celery_sqs_broker.receive())

What a test needs is on the devtools.sqs.SqsQueue the fixtures return.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.sqs import MotoServer, SqsQueue, aws_environment, celery_on_sqs, moto_server, sqs_queue


@pytest.fixture(scope="session")
def moto_sqs_server() -> Iterator[MotoServer]:
    """One moto server for the session; starting one per test would only cost time."""
    with moto_server() as server:
        yield server


@pytest.fixture
def sqs_queue_on_moto(moto_sqs_server: MotoServer) -> Iterator[SqsQueue]:
    """A fresh queue and DLQ; boto3's environment points at moto for the test."""
    with aws_environment(moto_sqs_server), sqs_queue(moto_sqs_server) as queue:
        yield queue


@pytest.fixture
def celery_sqs_broker(sqs_queue_on_moto: SqsQueue) -> Iterator[SqsQueue]:
    """sqs_queue_on_moto, with the Celery app publishing to it."""
    with celery_on_sqs(sqs_queue_on_moto):
        yield sqs_queue_on_moto
