"""The orders' own Lambda entry: the confirmation sweep on Zappa's schedule (zappa_settings.json)."""

from __future__ import annotations

from typing import Any

from shop_project.lambda_worker.container import django_setup_once


def confirmations_sweep_handler(event: dict, context: Any) -> dict:
    """Zappa's scheduled event (every 5 minutes): the sweep (and the invoices'), run in place.

    Called directly rather than through the queue, so that the sweep still runs when SQS is
    what went wrong.
    """
    django_setup_once()
    from apps.orders.tasks import confirmations_sweep
    from apps.payment.tasks import invoices_sweep

    return {"published": confirmations_sweep(), "invoices_published": invoices_sweep()}
