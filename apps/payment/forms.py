"""What the card form posts: the id of the PaymentMethod Stripe.js made from the card."""

from django import forms
from django.utils.translation import gettext_lazy as _

CARD_NOT_READ = _("The card was not read. Please type it again.")

# Stripe's ids: a prefix and letters and digits ("pm_1Pq…"; localstripe's "pm_AbC…").
PAYMENT_METHOD_ID = r"^pm_[A-Za-z0-9]{1,250}$"


class PaymentMethodForm(forms.Form):
    payment_method = forms.RegexField(
        regex=PAYMENT_METHOD_ID,
        max_length=255,
        error_messages={
            "required": CARD_NOT_READ,
            "invalid": CARD_NOT_READ,
            "max_length": CARD_NOT_READ,
        },
    )
