"""Running one decoded Celery message's task as `celery worker` would, and what became of it."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from celery import states
from celery.app.trace import build_tracer
from celery.exceptions import SoftTimeLimitExceeded
from django.db import close_old_connections

from shop_project.celery import app
from shop_project.lambda_worker.messages import CeleryMessage


class Outcome(StrEnum):
    OK = "ok"
    RETRY = "retry"  # the task published its retry (a delayed message) and gave up this one
    DELAYED = "delayed"  # early: sent back to the queue until its eta
    DEFERRED = "deferred"  # the invocation had no time left for it: sent back to the queue
    EXPIRED = "expired"  # past its expires: dropped unrun, as a worker revokes it
    IGNORED = "ignored"  # the task raised Ignore (e.g. it replaced itself)
    FAILED = "failed"  # reported to SQS, which delivers the record again, then dead-letters it


@dataclass
class Result:
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


def task_run(*, task, message: CeleryMessage, redelivered: bool, seconds_left: float | None) -> Result:
    """Run the task as a worker does, through Celery's own tracer, within its soft time limit.

    The tracer pushes the request (id, retries, delivery_info, headers...) that the task sees
    as self.request, runs task.run (autoretry_for included), sends the task signals, and
    dispatches callbacks and chains. Not eager: self.retry() publishes the retry to the broker,
    with retries + 1 and its countdown as an eta (hence DelaySeconds), and raises Retry,
    which the tracer reports as the RETRY state. Task.apply would run retries at once instead.

    The soft time limit is the message's or the task's (CELERY_TASK_SOFT_TIME_LIMIT), cut to
    `seconds_left` of the invocation: past it the task gets SoftTimeLimitExceeded, as in a
    prefork worker.
    Lambda's own timeout is the hard limit.
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
            "redelivered": redelivered,
        },
        "is_eager": False,
        **message.embed,
    }
    # As the worker's Django fixup does around each task: a connection that went stale
    # between invocations (the container sleeps) or was left broken is not reused.
    close_old_connections()
    try:
        with soft_time_limit(_soft_limit(task, message, seconds_left)):
            _, info, _, _ = _tracer(task)(message.id, message.args, message.kwargs, request)
    finally:
        close_old_connections()
    if info is None:
        return Result(Outcome.OK, message)
    outcome = _STATE_OUTCOMES.get(info.state, Outcome.FAILED)
    if outcome is Outcome.FAILED:
        return Result(outcome, message, {"error": describe(info.retval)})
    if outcome is Outcome.RETRY:
        # Retry.when: the countdown in seconds, or the eta.
        return Result(outcome, message, {"retry_in": getattr(info.retval, "when", None)})
    return Result(outcome, message)


def _soft_limit(task, message: CeleryMessage, seconds_left: float | None) -> float | None:
    # As a worker reads it: the message's own (apply_async(soft_time_limit=...)), else the
    # task's, which Celery set from CELERY_TASK_SOFT_TIME_LIMIT.
    timelimit = message.headers.get("timelimit")
    soft = timelimit[1] if isinstance(timelimit, list | tuple) and len(timelimit) == 2 else None
    if not isinstance(soft, int | float) or isinstance(soft, bool) or soft <= 0:
        soft = task.soft_time_limit
    limits = [limit for limit in (soft, seconds_left) if limit is not None]
    return min(limits) if limits else None


@contextmanager
def soft_time_limit(seconds: float | None) -> Iterator[None]:
    """SoftTimeLimitExceeded in this thread after `seconds` (SIGALRM), as a prefork child gets it.

    Signals reach the main thread only, where Lambda runs the handler; elsewhere (a handler
    driven from a thread) nothing is armed and the I/O timeouts are the only bound.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def exceeded(signum, frame):
        raise SoftTimeLimitExceeded(f"soft time limit ({seconds:.1f} s) exceeded")

    previous = signal.signal(signal.SIGALRM, exceeded)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe(error: object) -> str:
    return f"{type(error).__name__}: {error}"[:500]


@functools.cache
def _tracer(task):
    return build_tracer(task.name, task, app=app, eager=False, propagate=False)
