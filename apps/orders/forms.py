"""The checkout form: the six customer fields, and what the page showed in a hidden field."""

from django import forms

from apps.orders.models import Order
from apps.orders.services import Customer
from apps.orders.shown import ShownCheckout, shown_sign, shown_unsign

SHOWN_UNREADABLE = (
    "This page did not say what you were ordering (it may be out of date), so the order was not "
    "placed. Please check it below and place it again."
)


class ShownCheckoutField(forms.Field):
    """What the page showed, signed. A bound form renders what *this* page shows (its initial
    value), never what was posted: a page shown again after a change carries the new lines."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> ShownCheckout | None:
        return shown_unsign(value)

    def prepare_value(self, value):
        return shown_sign(value) if isinstance(value, ShownCheckout) else ""

    def bound_data(self, data, initial):
        return initial


class OrderCreateForm(forms.ModelForm):
    shown = ShownCheckoutField()

    class Meta:
        model = Order
        fields = ["first_name", "last_name", "email", "address", "postal_code", "city"]
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "address": forms.TextInput(attrs={"autocomplete": "street-address"}),
            "postal_code": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("shown") is None:
            raise forms.ValidationError(SHOWN_UNREADABLE, code="shown_unreadable")
        return cleaned

    def show(self, shown: ShownCheckout) -> None:
        """Render the hidden field for what this page shows."""
        self.initial["shown"] = shown

    def customer(self) -> Customer:
        return Customer(**{field: self.cleaned_data[field] for field in self._meta.fields})

    def shown_checkout(self) -> ShownCheckout:
        return self.cleaned_data["shown"]
