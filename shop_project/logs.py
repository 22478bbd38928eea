"""Structured logs: one JSON line per request and per Celery task, and the ids every line carries.

- `RequestLogMiddleware` (first in MIDDLEWARE): after each request, one INFO line on the logger
  `shop_project.request` with the request id, the Lambda request id, method, path (never the
  query string: a search or a form sent by GET can carry an e-mail or an address), route
  (without the language prefix), language, status, duration and the order id where the URL or
  the redirect names one.
- `task_started` / `task_finished` (connected to Celery's task_prerun / task_postrun by
  shop_project.celery, so this module imports no Celery: a web cold start need not): one line
  per task run on `shop_project.task`, in `celery worker` and in the worker Lambda alike (both
  run tasks through Celery's tracer), with the task's name and id, state, retries, duration,
  the order id of a task taking `order_id`, and the exception's class only (a message, such
  as an SMTP refusal, can quote the customer's address). Never the task's other arguments.
- `RequestIdsFilter` (on production's log handler): every other line logged meanwhile (a
  warning, a traceback) gets the same request_id and lambda_request_id, to find it by them.

The request id is API Gateway's (requestContext.requestId, which its access logs and the
client's x-amzn-RequestId carry), else a well-formed X-Request-ID sent by a proxy, else a new
one; the response carries it as X-Request-ID. The Lambda request id is the invocation's
(context.aws_request_id, as in Lambda's own START/END/REPORT lines): Zappa puts the Lambda
context and event into the WSGI environ as "lambda.context" and "lambda.event"; the worker
Lambda's handler sets it through `lambda_request_id`.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import QueryDict
from django.urls import Resolver404, resolve
from django.utils.translation import get_language_from_path

# Production's formatter (settings/production.py): the record's own fields, and every extra
# one, as one JSON object a line.
JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}

request_logger = logging.getLogger("shop_project.request")
task_logger = logging.getLogger("shop_project.task")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_lambda_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lambda_request_id", default=None
)

# What a client may send as its own X-Request-ID; anything else is replaced, never logged.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# A path is the shopper's to choose (a 404 logs it too): bounded.
PATH_LIMIT = 200
# The admin's pages of one order: /admin/orders/order/<object_id>/...
ADMIN_ORDER_VIEWS = ("admin:orders_order_change", "admin:orders_order_detail", "admin:orders_order_delete")


class RequestIdsFilter(logging.Filter):
    """Adds request_id and lambda_request_id to every record logged within a request or invocation."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in (("request_id", _request_id), ("lambda_request_id", _lambda_request_id)):
            value = variable.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


@contextmanager
def lambda_request_id(context: Any) -> Iterator[None]:
    """Within the block, log lines carry the Lambda invocation's request id (if there is one),
    and no web request's (an invocation that is not an HTTP request has none)."""
    tokens = (_lambda_request_id.set(getattr(context, "aws_request_id", None)), _request_id.set(None))
    try:
        yield
    finally:
        _lambda_request_id.reset(tokens[0])
        _request_id.reset(tokens[1])


class RequestLogMiddleware:
    """One JSON line per request (see the module's docstring); first in MIDDLEWARE, so that the
    duration covers every other middleware and the status is the one the client gets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        event = request.META.get("lambda.event")
        request_id = _api_gateway_request_id(event) or _sent_request_id(request) or uuid.uuid4().hex
        # Cleared when the response is closed (request_finished), not here: Django logs a 4xx or
        # 5xx response (django.request) after the middleware has returned it.
        _request_id.set(request_id)
        _lambda_request_id.set(getattr(request.META.get("lambda.context"), "aws_request_id", None))
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        if request_logger.isEnabledFor(logging.INFO):
            request_logger.info("request", extra=_request_fields(request, response, started))
        return response


@receiver(request_finished, dispatch_uid="shop_project.logs.request_ids_cleared")
def _request_ids_cleared(**_) -> None:
    _request_id.set(None)
    _lambda_request_id.set(None)


def _api_gateway_request_id(event: Any) -> str | None:
    context = event.get("requestContext") if isinstance(event, dict) else None
    value = context.get("requestId") if isinstance(context, dict) else None
    return value if isinstance(value, str) and REQUEST_ID.match(value) else None


def _sent_request_id(request) -> str | None:
    value = request.headers.get("X-Request-ID", "")
    return value if REQUEST_ID.match(value) else None


def _request_fields(request, response, started: float) -> dict:
    match = request.resolver_match
    return {
        "request_id": _request_id.get(),
        "lambda_request_id": _lambda_request_id.get(),
        "method": request.method,
        "path": request.path[:PATH_LIMIT],
        "route": _route(match),
        "language": getattr(request, "LANGUAGE_CODE", None),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "order_id": (
            _order_id(match) or _payment_page_order_id(match, request.GET) or _redirect_order_id(response)
        ),
    }


def _route(match) -> str | None:
    """The URL pattern without its language prefix: one route per page, whatever the language."""
    if match is None:
        return None
    language = get_language_from_path(f"/{match.route}")
    return match.route.removeprefix(f"{language}/") if language else match.route


def _order_id(match) -> int | None:
    if match is None:
        return None
    value = match.kwargs.get("order_id")
    if value is None and match.view_name in ADMIN_ORDER_VIEWS:
        value = match.kwargs.get("object_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _payment_page_order_id(match, query) -> int | None:
    """The payment pages name their order in the query string (?order=<id>), an id and nothing else."""
    if match is None or match.namespace != "payment":
        return None
    value = query.get("order", "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _redirect_order_id(response) -> int | None:
    """The order a redirect leads to: checkout's POST names the order it made only so."""
    location = response.get("Location") if 300 <= response.status_code < 400 else None
    if not location:
        return None
    address = urlsplit(location)
    try:
        match = resolve(address.path)
    except Resolver404:
        return None
    return _order_id(match) or _payment_page_order_id(match, QueryDict(address.query))


# Celery tasks ---------------------------------------------------------------------------------

# task id -> when it started; each entry lives from task_prerun to task_postrun.
_task_started: dict[str, float] = {}


def task_started(*, task_id: str, **_) -> None:
    """task_prerun."""
    _task_started[task_id] = time.perf_counter()


def task_finished(*, task_id: str, task, args=None, kwargs=None, retval=None, state=None, **_) -> None:
    """task_postrun: one line, whatever the task's end (SUCCESS, RETRY, FAILURE, IGNORED...)."""
    started = _task_started.pop(task_id, None)
    if not task_logger.isEnabledFor(logging.WARNING if state == "FAILURE" else logging.INFO):
        return
    request = getattr(task, "request", None)
    fields = {
        "task": task.name,
        "task_id": task_id,
        "state": state,
        "retries": getattr(request, "retries", None),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
        "order_id": _task_order_id(task, args or (), kwargs or {}),
        "lambda_request_id": _lambda_request_id.get(),
    }
    if isinstance(retval, BaseException):
        fields["error"] = type(retval).__name__
    level = logging.WARNING if state == "FAILURE" else logging.INFO
    task_logger.log(level, "task", extra=fields)


def _task_order_id(task, args, kwargs) -> int | None:
    value = kwargs.get("order_id")
    if value is None:
        position = _order_id_position(task.name, task.run)
        value = args[position] if position is not None and position < len(args) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@functools.lru_cache(maxsize=64)
def _order_id_position(name: str, run) -> int | None:
    # The task's own signature (bind=True leaves self out of the bound run), read once per task.
    try:
        parameters = list(inspect.signature(run).parameters)
    except (TypeError, ValueError):
        return None
    return parameters.index("order_id") if "order_id" in parameters else None
