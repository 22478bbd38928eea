"""The SQS client of the worker Lambda: sending a record back to its queue to wait for its eta.

Sending happens inside the invocation, so it is bounded, and a send that fails leaves the record
failed: SQS delivers it again anyway.
"""

from __future__ import annotations

import functools
import os

import boto3
from botocore.config import Config
from django.conf import settings

SQS_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
)


def record_send_again(*, record: dict, delay_seconds: int) -> None:
    """Put the record's body back on the queue, unchanged, to be delivered after delay_seconds."""
    region = record.get("awsRegion") or None
    client = sqs_client(region=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    client.send_message(
        QueueUrl=_queue_url(record=record, client=client),
        MessageBody=record["body"],
        DelaySeconds=delay_seconds,
    )


@functools.lru_cache(maxsize=8)
def sqs_client(*, region: str | None, endpoint_url: str | None):
    # A warm container reuses its client (making one costs tens of milliseconds). The endpoint
    # is part of the key only so that a changed AWS_ENDPOINT_URL (moto in tests) gets its own.
    return boto3.client("sqs", region_name=region, config=SQS_CLIENT_CONFIG)


def _queue_url(*, record: dict, client) -> str:
    """The queue Celery publishes to (CELERY_SQS_QUEUE_URL), else the record's own queue.

    CELERY_SQS_QUEUE_URL first, so that an early record goes back to where its retries go; a
    deployment without it is looked up from the record's eventSourceARN (needs sqs:GetQueueUrl).
    """
    if settings.CELERY_SQS_QUEUE_URL:
        return settings.CELERY_SQS_QUEUE_URL
    return _queue_url_from_arn(arn=record["eventSourceARN"], client=client)


@functools.lru_cache(maxsize=8)
def _queue_url_from_arn(*, arn: str, client) -> str:
    # arn:aws:sqs:<region>:<account>:<queue name>
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"{arn!r} is not the ARN of an SQS queue")
    return client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
