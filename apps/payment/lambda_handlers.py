"""The payment app's own Lambda entry: the expiry sweep on Zappa's schedule (zappa_settings.json)."""

from __future__ import annotations

from typing import Any

from shop_project.lambda_worker.container import django_setup_once


def payment_expiry_sweep_handler(event: dict, context: Any) -> dict:
    """Zappa's scheduled event (every minute): the sweep, run in place, as the confirmations
    sweep is (apps.orders.lambda_handlers): an order's stock comes back even when SQS is down."""
    django_setup_once()
    from apps.payment.tasks import payment_expiry_sweep

    return {"outcomes": payment_expiry_sweep()}
