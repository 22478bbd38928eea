"""The worker Lambda's SQS entry: each record of a batch handled on its own, failures reported.

A record is decoded, dropped if expired, sent back to the queue if early or if the invocation has
no time left for it, else its task is run within what is left; one JSON log line per record says
what became of it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from shop_project.celery import SQS_MAX_DELAY_SECONDS, app
from shop_project.lambda_worker import sqs
from shop_project.lambda_worker.container import django_setup_once
from shop_project.lambda_worker.messages import UndecodableMessageError, celery_message_decode
from shop_project.lambda_worker.task_run import Outcome, Result, describe, task_run
from shop_project.logs import lambda_request_id

# One logger for the package: the per-record lines are what CloudWatch queries read.
logger = logging.getLogger("shop_project.lambda_worker")

# DelaySeconds is whole seconds and the publisher rounds up (shop_project.celery), so a record
# can only be early by the clocks' disagreement; holding it again for less than this would cost
# an invocation and gain nothing.
EARLY_TOLERANCE_SECONDS = 1.0
# What an invocation keeps after its last task for reporting (a retry's publish, the response),
# and the least time worth starting a record with; with less, the record goes back to the queue.
RESERVED_SECONDS = 2.0
MIN_RECORD_SECONDS = 1.0


def handler(event: dict, context: Any) -> dict:
    """Entry point of the worker Lambda for SQS events: {"batchItemFailures": [...]}.

    Every record is handled on its own: one that fails (cannot be decoded, names an unknown
    task, or its task raised) is named in batchItemFailures and the others go on. Nothing
    that a queue delivers makes this raise.
    """
    django_setup_once()
    records = event.get("Records") if isinstance(event, dict) else None
    failures = []
    # The invocation's id on every line it logs, the per-task ones included (shop_project.logs).
    with lambda_request_id(context):
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, dict):
                # Unnamed, it cannot be reported alone; an empty identifier fails the whole batch
                # (Lambda's rule), which is better than losing it.
                failures.append({"itemIdentifier": ""})
                continue
            if _record_handle(record, seconds_left=_seconds_left(context)) is Outcome.FAILED:
                failures.append({"itemIdentifier": str(record.get("messageId") or "")})
    return {"batchItemFailures": failures}


def _seconds_left(context: Any) -> float | None:
    """Seconds this invocation may still spend on a task; None without a Lambda context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return None if remaining is None else remaining() / 1000 - RESERVED_SECONDS


def _record_handle(record: dict, *, seconds_left: float | None) -> Outcome:
    started = time.monotonic()
    try:
        result = _record_process(record, seconds_left=seconds_left)
    except Exception as error:  # whatever it is, it is this record's failure and no other's
        logger.exception("record %s could not be handled", record.get("messageId"))
        result = Result(Outcome.FAILED, detail={"error": describe(error)})
    _record_log(record=record, result=result, duration_ms=(time.monotonic() - started) * 1000)
    return result.outcome


def _record_process(record: dict, *, seconds_left: float | None) -> Result:
    try:
        message = celery_message_decode(body=record.get("body"))
    except UndecodableMessageError as error:
        return Result(Outcome.FAILED, detail={"error": f"undecodable: {error}"})

    now = datetime.now(UTC)
    if message.expires is not None and message.expires <= now:
        return Result(Outcome.EXPIRED, message, {"expires": message.expires.isoformat()})
    if message.eta is not None:
        remaining = (message.eta - now).total_seconds()
        if remaining >= EARLY_TOLERANCE_SECONDS:
            delay = min(math.ceil(remaining), SQS_MAX_DELAY_SECONDS)
            sqs.record_send_again(record=record, delay_seconds=delay)
            return Result(Outcome.DELAYED, message, {"delay_seconds": delay})

    task = app.tasks.get(message.task)
    if task is None:
        return Result(Outcome.FAILED, message, {"error": f"unknown task {message.task}"})
    if seconds_left is not None and seconds_left < MIN_RECORD_SECONDS:
        # Reported failed, it would count toward the dead-letter policy without having run.
        sqs.record_send_again(record=record, delay_seconds=0)
        return Result(Outcome.DEFERRED, message, {"seconds_left": round(seconds_left, 1)})
    return task_run(task=task, message=message, redelivered=_receive_count(record) > 1,
                    seconds_left=seconds_left)


def _receive_count(record: dict) -> int:
    attributes = record.get("attributes")
    try:
        return int(attributes.get("ApproximateReceiveCount", 1)) if isinstance(attributes, dict) else 1
    except (TypeError, ValueError):
        return 1


def _record_log(*, record: dict, result: Result, duration_ms: float) -> None:
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
