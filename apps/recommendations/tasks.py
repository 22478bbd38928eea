"""Celery tasks of the recommendations app: they take ids, load, and call a service."""

from django.db import OperationalError

from apps.recommendations import services
from shop_project.celery import app


# A lost lock race with another order's counting rolls the whole count back: run it again.
@app.task(autoretry_for=(OperationalError,), max_retries=3, retry_backoff=5)
def bought_together_count(order_id):
    """Record which products the paid order `order_id` held together (once per order)."""
    return services.bought_together_count(order_id=order_id)
