"""The e-mails the orders app sends, built from templates under orders/email/."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from apps.orders.models import Order


def order_confirmation_message(*, order: Order) -> EmailMultiAlternatives:
    """Plain text and HTML; `order` should come with its items prefetched."""
    context = {"order": order}
    message = EmailMultiAlternatives(
        subject=f"Your order {order.id} at My Shop",
        body=render_to_string("orders/email/order_confirmation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.email],
    )
    message.attach_alternative(render_to_string("orders/email/order_confirmation.html", context), "text/html")
    return message
