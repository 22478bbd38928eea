"""The worker Lambda: runs the Celery tasks that SQS hands it in batches (`handler`).

The Lambda takes the place of `celery worker` on AWS. An SQS event-source mapping with
ReportBatchItemFailures delivers the queue's messages as records; each record is one Celery
message as kombu's SQS transport wrote it. The handler runs each message's task the way a
worker would and names the records that failed, which SQS delivers again (and moves to the
dead-letter queue after the queue's maxReceiveCount); the others are deleted.

A worker waits for a message's eta in memory; a Lambda cannot, so the waiting is left to the
queue: a record that arrives before its eta is sent to the queue again with DelaySeconds, and a
task's retry is published with DelaySeconds (see shop_project.celery). Only standard queues
take a per-message delay; FIFO queues are not supported.

DJANGO_SETTINGS_MODULE: Zappa sets it. Without it, the default is the one shop_project.celery
sets when the package is imported (before this module runs): production on Lambda.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import boto3
import django
from botocore.config import Config
from celery import states
from celery.app.trace import build_tracer
from django.apps import apps as django_apps
from django.conf import settings
from django.db import close_old_connections
from kombu.utils import json as kombu_json

from shop_project.celery import SQS_MAX_DELAY_SECONDS, app

logger = logging.getLogger(__name__)

# DelaySeconds is whole seconds and the publisher rounds up (shop_project.celery), so a record
# can only be early by the clocks' disagreement; holding it again for less than this would cost
# an invocation and gain nothing.
EARLY_TOLERANCE_SECONDS = 1.0

# Sending a record back to the queue happens inside the invocation: bounded, and a send that
# fails leaves the record failed, so SQS delivers it again anyway.
SQS_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3}
)

# Celery's JSON serializer is the only one read here: a queue is no place to unpickle from.
CELERY_CONTENT_TYPE = "application/json"


# Decoding ------------------------------------------------------------------------------------


class UndecodableMessageError(ValueError):
    """The body is not a Celery (protocol 2, JSON) message as kombu's SQS transport writes it."""


@dataclass(frozen=True)
class CeleryMessage:
    """One task message: what to run, with what, and when."""

    task: str
    id: str
    args: list
    kwargs: dict
    retries: int
    eta: datetime | None  # aware, UTC
    expires: datetime | None  # aware, UTC
    headers: dict  # the protocol 2 headers as sent, which become the task's request
    properties: dict  # kombu's message properties, delivery_info among them
    embed: dict  # callbacks, errbacks, chain, chord


def celery_message_decode(*, body: str) -> CeleryMessage:
    """Read an SQS message body written by kombu's SQS transport; UndecodableMessageError if not one.

    Pure (no Django, no Celery app, no I/O) and total: whatever `body` is, the only exception
    is UndecodableMessageError.

    The body is base64 of kombu's JSON envelope (plain JSON when the transport option
    sqs_base64_encoding is off; kombu reads both, and so does this). The envelope's "body" is
    Celery's protocol 2 body [args, kwargs, embed], base64-encoded when its properties say
    body_encoding "base64"; its "headers" name the task and carry id, retries, eta, expires.
    """
    if not isinstance(body, str):
        raise UndecodableMessageError(f"the body is {type(body).__name__}, not text")
    envelope = _json_loads(_envelope_text(body), what="the envelope")
    if not isinstance(envelope, dict):
        raise UndecodableMessageError("the envelope is not a JSON object")
    headers = envelope.get("headers")
    properties = envelope.get("properties")
    if not isinstance(headers, dict) or not isinstance(properties, dict):
        raise UndecodableMessageError("the envelope has no headers or no properties")
    if envelope.get("content-type") != CELERY_CONTENT_TYPE:
        raise UndecodableMessageError(f"content-type {envelope.get('content-type')!r} is not JSON")
    if envelope.get("content-encoding", "utf-8") != "utf-8":
        raise UndecodableMessageError(f"content-encoding {envelope.get('content-encoding')!r} is not utf-8")
    if headers.get("compression"):
        raise UndecodableMessageError("compressed messages are not supported")

    task, task_id = headers.get("task"), headers.get("id")
    if not isinstance(task, str) or not task or not isinstance(task_id, str) or not task_id:
        raise UndecodableMessageError("the headers do not name a task and its id (Celery protocol 2)")
    retries = headers.get("retries")
    retries = 0 if retries is None else retries
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise UndecodableMessageError(f"retries {retries!r} is not a count")

    args, kwargs, embed = _celery_body(envelope.get("body"), encoding=properties.get("body_encoding"))
    return CeleryMessage(
        task=task,
        id=task_id,
        args=args,
        kwargs=kwargs,
        retries=retries,
        eta=_moment(headers.get("eta"), name="eta"),
        expires=_moment(headers.get("expires"), name="expires"),
        headers=headers,
        properties=properties,
        embed=embed,
    )


def _envelope_text(body: str) -> str:
    candidate = body.strip()
    if candidate.startswith("{"):
        # "{" is not in base64's alphabet: this is an envelope written without base64.
        return candidate
    return _base64_text(candidate, what="the SQS body")


def _base64_text(value: str, *, what: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise UndecodableMessageError(f"{what} is not base64 of UTF-8 text") from error


def _json_loads(text: str, *, what: str) -> Any:
    try:
        return kombu_json.loads(text)
    # kombu's decoder revives typed values ({"__type__": "decimal", ...}) through whatever types
    # are registered with it, and a crafted one fails with whatever that constructor raises
    # (InvalidOperation, TypeError, ...); deep nesting ends in RecursionError.
    except Exception as error:
        raise UndecodableMessageError(f"{what} is not JSON") from error


def _celery_body(body: Any, *, encoding: Any) -> tuple[list, dict, dict]:
    if not isinstance(body, str):
        raise UndecodableMessageError("the envelope has no body")
    text = _base64_text(body, what="the Celery body") if encoding == "base64" else body
    payload = _json_loads(text, what="the Celery body")
    if not (isinstance(payload, list) and len(payload) == 3):
        raise UndecodableMessageError("the Celery body is not [args, kwargs, embed] (protocol 2)")
    args, kwargs, embed = payload
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not isinstance(embed, dict | None):
        raise UndecodableMessageError("the Celery body's args, kwargs or embed have the wrong type")
    return args, kwargs, embed or {}


def _moment(value: Any, *, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UndecodableMessageError(f"{name} {value!r} is not an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
        # Naive times are UTC, as shop_project.celery reads them when it sets DelaySeconds.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise UndecodableMessageError(f"{name} {value!r} is not an ISO 8601 time") from error


# Handling --------------------------------------------------------------------------------------


class Outcome(StrEnum):
    OK = "ok"
    RETRY = "retry"  # the task published its retry (a delayed message) and gave up this one
    DELAYED = "delayed"  # early: sent back to the queue until its eta
    EXPIRED = "expired"  # past its expires: dropped unrun, as a worker revokes it
    IGNORED = "ignored"  # the task raised Ignore (e.g. it replaced itself)
    FAILED = "failed"  # reported to SQS, which delivers the record again, then dead-letters it


@dataclass
class _Result:
    outcome: Outcome
    message: CeleryMessage | None = None
    detail: dict | None = None


# The task states Celery's tracer ends in, and what they mean for the record.
_STATE_OUTCOMES = {
    states.SUCCESS: Outcome.OK,
    states.RETRY: Outcome.RETRY,
    states.IGNORED: Outcome.IGNORED,
    states.REJECTED: Outcome.FAILED,  # e.g. a retry that could not be published
    states.FAILURE: Outcome.FAILED,
}

_django_ready = False


def handler(event: dict, context: Any) -> dict:
    """Entry point of the worker Lambda for SQS events: {"batchItemFailures": [...]}.

    Every record is handled on its own: one that fails (cannot be decoded, names an unknown
    task, or its task raised) is named in batchItemFailures and the others go on. Nothing
    that a queue delivers makes this raise.
    """
    _django_setup_once()
    records = event.get("Records") if isinstance(event, dict) else None
    failures = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            # Unnamed, it cannot be reported alone; an empty identifier fails the whole batch
            # (Lambda's rule), which is better than losing it.
            failures.append({"itemIdentifier": ""})
            continue
        if _record_handle(record) is Outcome.FAILED:
            failures.append({"itemIdentifier": str(record.get("messageId") or "")})
    return {"batchItemFailures": failures}


def _django_setup_once() -> None:
    """Django and the task registry, once per container (its first invocation), not per record."""
    global _django_ready
    if _django_ready:
        return
    django.setup()
    # The apps' tasks modules, as `celery worker` imports them at start, so that every task a
    # message can name is registered. Not through app.loader.import_default_modules(), whose
    # Django fixup would set Django up a second time.
    app.autodiscover_tasks([config.name for config in django_apps.get_app_configs()], force=True)
    _django_ready = True


def _record_handle(record: dict) -> Outcome:
    started = time.monotonic()
    try:
        result = _record_process(record)
    except Exception as error:  # whatever it is, it is this record's failure and no other's
        logger.exception("record %s could not be handled", record.get("messageId"))
        result = _Result(Outcome.FAILED, detail={"error": _describe(error)})
    _record_log(record=record, result=result, duration_ms=(time.monotonic() - started) * 1000)
    return result.outcome


def _record_process(record: dict) -> _Result:
    try:
        message = celery_message_decode(body=record.get("body"))
    except UndecodableMessageError as error:
        return _Result(Outcome.FAILED, detail={"error": f"undecodable: {error}"})

    now = datetime.now(UTC)
    if message.expires is not None and message.expires <= now:
        return _Result(Outcome.EXPIRED, message, {"expires": message.expires.isoformat()})
    if message.eta is not None:
        remaining = (message.eta - now).total_seconds()
        if remaining >= EARLY_TOLERANCE_SECONDS:
            delay = min(math.ceil(remaining), SQS_MAX_DELAY_SECONDS)
            _record_send_again(record=record, delay_seconds=delay)
            return _Result(Outcome.DELAYED, message, {"delay_seconds": delay})

    task = app.tasks.get(message.task)
    if task is None:
        return _Result(Outcome.FAILED, message, {"error": f"unknown task {message.task}"})
    return _task_run(task=task, message=message, record=record)


def _task_run(*, task, message: CeleryMessage, record: dict) -> _Result:
    """Run the task as a worker does, through Celery's own tracer.

    The tracer pushes the request (id, retries, delivery_info, headers...) that the task sees
    as self.request, runs task.run (autoretry_for included), sends the task signals, and
    dispatches callbacks and chains. Not eager: self.retry() publishes the retry to the broker,
    with retries + 1 and its countdown as an eta (hence DelaySeconds), and raises Retry,
    which the tracer reports as the RETRY state. Task.apply would run retries at once instead.
    """
    delivery_info = message.properties.get("delivery_info")
    delivery_info = delivery_info if isinstance(delivery_info, dict) else {}
    request = {
        # As celery.worker.request.Request builds it from a message.
        **message.headers,
        "properties": message.properties,
        "reply_to": message.properties.get("reply_to"),
        "correlation_id": message.properties.get("correlation_id"),
        "delivery_info": {
            # The retry is routed by these: back to the queue the message was published to.
            "exchange": delivery_info.get("exchange"),
            "routing_key": delivery_info.get("routing_key"),
            "priority": message.properties.get("priority"),
            "redelivered": _receive_count(record) > 1,
        },
        "is_eager": False,
        **message.embed,
    }
    # As the worker's Django fixup does around each task: a connection that went stale
    # between invocations (the container sleeps) or was left broken is not reused.
    close_old_connections()
    try:
        _, info, _, _ = _tracer(task)(message.id, message.args, message.kwargs, request)
    finally:
        close_old_connections()
    if info is None:
        return _Result(Outcome.OK, message)
    outcome = _STATE_OUTCOMES.get(info.state, Outcome.FAILED)
    if outcome is Outcome.FAILED:
        return _Result(outcome, message, {"error": _describe(info.retval)})
    if outcome is Outcome.RETRY:
        # Retry.when: the countdown in seconds, or the eta.
        return _Result(outcome, message, {"retry_in": getattr(info.retval, "when", None)})
    return _Result(outcome, message)


@functools.cache
def _tracer(task):
    return build_tracer(task.name, task, app=app, eager=False, propagate=False)


def _record_send_again(*, record: dict, delay_seconds: int) -> None:
    """Put the record's body back on the queue, unchanged, to be delivered after delay_seconds."""
    region = record.get("awsRegion") or None
    client = _sqs_client(region=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    client.send_message(
        QueueUrl=_queue_url(record=record, client=client),
        MessageBody=record["body"],
        DelaySeconds=delay_seconds,
    )


@functools.lru_cache(maxsize=8)
def _sqs_client(*, region: str | None, endpoint_url: str | None):
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


def _receive_count(record: dict) -> int:
    attributes = record.get("attributes")
    try:
        return int(attributes.get("ApproximateReceiveCount", 1)) if isinstance(attributes, dict) else 1
    except (TypeError, ValueError):
        return 1


def _record_log(*, record: dict, result: _Result, duration_ms: float) -> None:
    """One JSON line per record, for CloudWatch Logs Insights to query."""
    message = result.message
    line = {
        "task": message.task if message else None,
        "id": message.id if message else None,
        "outcome": str(result.outcome),
        "duration_ms": round(duration_ms, 1),
        "message_id": record.get("messageId"),
        "retries": message.retries if message else None,
        "receive_count": _receive_count(record),
        **(result.detail or {}),
    }
    level = logging.WARNING if result.outcome is Outcome.FAILED else logging.INFO
    logger.log(level, json.dumps(line, default=str))


def _describe(error: object) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def confirmations_sweep_handler(event: dict, context: Any) -> dict:
    """Zappa's scheduled event (every 5 minutes): the sweep, run in place.

    Called directly rather than through the queue, so that the sweep still runs when SQS is
    what went wrong.
    """
    _django_setup_once()
    from apps.orders.tasks import confirmations_sweep

    return {"published": confirmations_sweep()}
