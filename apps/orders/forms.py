"""The checkout form: the six customer fields, and what the page showed in a hidden field."""

import functools
import secrets

from django import forms
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from apps.orders.models import Order
from apps.orders.services import Customer
from apps.orders.shown import ShownCheckout, shown_sign, shown_unsign

SHOWN_UNREADABLE = _(
    "This page did not say what you were ordering (it may be out of date), so the order was not "
    "placed. Please check it below and place it again."
)



class _ShownSlot(str):
    """Stands in for the signed value in the blank form rendered once per process (see
    OrderCreateForm.as_div). Random per process, so no text can contain it; hex, so escaping
    leaves it as it is."""


_SHOWN_SLOT = _ShownSlot(f"shown-slot-{secrets.token_hex(16)}")


class ShownCheckoutField(forms.Field):
    """What the page showed, signed. A bound form renders what *this* page shows (its initial
    value), never what was posted: a page shown again after a change carries the new lines."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> ShownCheckout | None:
        return shown_unsign(value)

    def prepare_value(self, value):
        if isinstance(value, _ShownSlot):
            return value
        return shown_sign(value) if isinstance(value, ShownCheckout) else ""

    def bound_data(self, data, initial):
        return initial


class OrderCreateForm(forms.ModelForm):
    shown = ShownCheckoutField()

    class Meta:
        model = Order
        fields = ["first_name", "last_name", "email", "address", "postal_code", "city"]
        labels = {
            "first_name": _("First name"), "last_name": _("Last name"), "email": _("Email"),
            "address": _("Address"), "postal_code": _("Postal code"), "city": _("City"),
        }
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

    def as_div(self):
        """The form as <div>s. A blank form (the checkout page's GET) is rendered through the form
        templates once per process and given this page's signed value of `shown`: its six
        empty fields cost more than the rest of the page. Anything else renders afresh."""
        shown = self.initial.get("shown")
        if not (isinstance(shown, ShownCheckout) and self._renders_as_blank()):
            return super().as_div()
        signed = escape(self.fields["shown"].prepare_value(shown))
        return mark_safe(_blank_as_div(get_language()).replace(_SHOWN_SLOT, signed))  # both parts are escaped

    def _renders_as_blank(self) -> bool:
        blank = _blank_form()
        return (
            type(self) is OrderCreateForm and not self.is_bound and self.prefix is None
            and self.auto_id == blank.auto_id and self.label_suffix == blank.label_suffix
            and list(self.fields) == list(blank.fields)
            and {name: value for name, value in self.initial.items() if name != "shown"} == blank.initial
        )

    def customer(self) -> Customer:
        return Customer(**{field: self.cleaned_data[field] for field in self._meta.fields})

    def shown_checkout(self) -> ShownCheckout:
        return self.cleaned_data["shown"]


@functools.cache
def _blank_form() -> OrderCreateForm:
    return OrderCreateForm()


@functools.cache
def _blank_as_div(language: str) -> str:
    # One per language: the labels are translated.
    form = OrderCreateForm()
    form.initial["shown"] = _SHOWN_SLOT
    return forms.Form.as_div(form)
