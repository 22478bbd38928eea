from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CartAddProductForm(forms.Form):
    """How many units to put in the cart; `override` replaces the quantity instead of adding."""

    quantity = forms.TypedChoiceField(
        choices=[(i, str(i)) for i in range(1, settings.CART_MAX_QUANTITY_PER_PRODUCT + 1)],
        coerce=int,
        label=_("Quantity"),
    )
    override = forms.BooleanField(required=False, initial=False, widget=forms.HiddenInput)
