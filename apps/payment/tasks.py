"""Celery tasks of the payment app: they take ids, load, and call a service."""

from apps.orders.tasks import CONFIRMATION_MAX_RETRIES, send_once_or_retry
from apps.payment import invoices
from shop_project.celery import app


@app.task(bind=True, max_retries=CONFIRMATION_MAX_RETRIES)
def payment_completed(self, order_id):
    """E-mail the customer the PDF invoice of their paid order, once (retried like order_created)."""
    send_once_or_retry(self, invoices.INVOICE, order_id)


@app.task
def invoices_sweep(min_age_seconds=300):
    """Publish again the invoices that should have been sent by now (with the confirmations' sweep)."""
    return invoices.invoices_publish_overdue(min_age_seconds=min_age_seconds)
