"""The e-mails the orders app sends, built from templates under orders/email/, in the order's language."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from apps.orders.models import Order


def order_confirmation_message(*, order: Order) -> EmailMultiAlternatives:
    """Plain text and HTML; `order` should come with its items prefetched.

    Written in the language the order was placed in, never the sender's: a worker, or staff
    resending it, may have another one active.
    """
    context = {"order": order}
    with translation.override(order.language):
        message = EmailMultiAlternatives(
            subject=gettext("Your order %(number)s at My Shop") % {"number": order.id},
            body=render_to_string("orders/email/order_confirmation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.email],
        )
        html = render_to_string("orders/email/order_confirmation.html", context)
    message.attach_alternative(html, "text/html")
    return message
