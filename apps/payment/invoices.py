"""The invoice e-mail: sent once per paid order, with the PDF attached, claimed like the confirmation.

The claim, its lease, the release after a failed send, the sweep and the task's retries are the
confirmation's own (apps.orders.services.OnceEmail); what differs is named here: the Order fields
(invoice_*), the message, and that only a paid order qualifies. `order_paid` makes the invoice
due and publishes the task once the payment's transaction commits; what the broker did not
confirm, the sweep (invoices_sweep) publishes later.
"""

import logging
from importlib import import_module

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from apps.orders import services
from apps.orders.models import Order, OrderStatus
from apps.payment import invoice
from apps.payment.signals import order_paid

logger = logging.getLogger(__name__)

# Shipped orders were paid too; a refunded or cancelled one gets no "PAID" invoice any more.
INVOICED_STATUSES = [OrderStatus.PAID, OrderStatus.SHIPPED]


def invoice_message(order: Order) -> EmailMessage:
    """The e-mail to the customer, the PDF attached as invoice_<id>.pdf, both in the order's language."""
    with translation.override(order.language):
        total = invoice.format_money(order.get_total_cost(), settings.SHOP_CURRENCY)
        message = EmailMessage(
            subject=gettext("My Shop - Invoice no. %(number)s") % {"number": order.id},
            body=render_to_string("payment/email/invoice.txt", {"order": order, "total": total}),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.email],
        )
    message.attach(invoice.invoice_filename(order.id), invoice.order_invoice_pdf(order), "application/pdf")
    return message


INVOICE = services.OnceEmail(
    name="invoice",
    # Imported when first published: the tasks module imports this one.
    task=lambda: import_module("apps.payment.tasks").payment_completed,
    message=invoice_message,
    sendable=Q(status__in=INVOICED_STATUSES),
    due_field="invoice_due_at",
)


def invoice_send(*, order_id: int) -> bool:
    """E-mail the invoice of a paid order unless it is sent or being sent; True if this call sent it.

    As order_confirmation_send, with its errors; an order that is not paid gets nothing (logged).
    """
    return services.once_email_send(INVOICE, order_id=order_id)


def invoice_publish(*, order_id: int) -> bool:
    """Queue payment_completed; True once the broker confirmed it (else the sweep will)."""
    return services.once_email_publish(INVOICE, order_id=order_id)


def invoices_publish_overdue(*, min_age_seconds: int) -> int:
    """Publish again the invoices of orders paid more than min_age_seconds ago and not sent yet."""
    published = services.once_emails_publish_overdue(INVOICE, min_age_seconds=min_age_seconds)
    if published:
        logger.info("sweep published %s overdue invoice(s)", published)
    return published


@receiver(order_paid, dispatch_uid="apps.payment.invoices.invoice_due")
def invoice_due(sender, *, order_id: int, **kwargs) -> None:
    """The order became paid: its invoice is due now, and published once that is committed."""
    # Inside the payment's transaction, under its row lock: due with the payment, or not at all.
    Order.objects.filter(id=order_id, invoice_due_at__isnull=True).update(invoice_due_at=timezone.now())
    transaction.on_commit(lambda: invoice_publish(order_id=order_id))
