"""Decoding: an SQS record's body back into the Celery task message kombu's SQS transport wrote.

Pure (no Django, no Celery app, no I/O) and total: whatever a body is, the only exception is
UndecodableMessageError.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kombu.utils import json as kombu_json

# Celery's JSON serializer is the only one read here: a queue is no place to unpickle from.
CELERY_CONTENT_TYPE = "application/json"


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
