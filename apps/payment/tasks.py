"""Celery tasks of the payment app: they take ids, load, and call a service."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from apps.orders.models import Order
from apps.orders.tasks import CONFIRMATION_MAX_RETRIES, send_once_or_retry
from apps.payment import invoices, services
from shop_project.celery import app

logger = logging.getLogger(__name__)


@app.task(bind=True, max_retries=CONFIRMATION_MAX_RETRIES)
def payment_completed(self, order_id):
    """E-mail the customer the PDF invoice of their paid order, once (retried like order_created)."""
    send_once_or_retry(self, invoices.INVOICE, order_id)


@app.task
def invoices_sweep(min_age_seconds=300):
    """Publish again the invoices that should have been sent by now (with the confirmations' sweep)."""
    return invoices.invoices_publish_overdue(min_age_seconds=min_age_seconds)


# Expiry and late payments (payhooks) ---------------------------------------------------------

LATE_REFUND_EMAIL_MAX_RETRIES = 3


@app.task
def payment_expiry_sweep():
    """Cancel the unpaid orders past their deadline, Stripe first (every minute)."""
    outcomes = services.orders_expire()
    if outcomes:
        logger.info("payment expiry sweep: %s", outcomes)
    return outcomes


@app.task(bind=True, max_retries=LATE_REFUND_EMAIL_MAX_RETRIES, default_retry_delay=60)
def late_payment_refunded_email(self, order_id):
    """Tell the shopper that their payment, which came after the order expired, was refunded."""
    order = Order.objects.filter(id=order_id).first()
    if order is None or not order.stripe_refund_id:
        return False
    with translation.override(order.language):  # the order's, never the worker's
        message = EmailMessage(
            subject=gettext("Your payment for order %(number)s at My Shop was refunded")
            % {"number": order.id},
            body=render_to_string("payment/email/late_payment_refunded.txt",
                                  {"order": order, "refund_id": order.stripe_refund_id}),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.email],
        )
    try:
        message.send()
    except Exception as error:
        raise self.retry(exc=error) from error
    return True
