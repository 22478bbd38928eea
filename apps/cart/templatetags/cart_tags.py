"""Template tags for the cart's forms: {% cart_add_form product %} on pages of other apps that
sell a product, {% cart_quantity_fields line.quantity %} on the cart page."""

import functools

from django import template
from django.conf import settings
from django.utils.translation import get_language

from apps.cart.forms import CartAddProductForm

register = template.Library()


@register.inclusion_tag("cart/includes/add_form.html")
def cart_add_form(product):
    """The add-to-cart form of a product page; the page's CSRF token is passed on to it."""
    return {"product": product, "fields": _blank_form_fields(get_language())}


@register.simple_tag
def cart_quantity_fields(quantity: int) -> str:
    """A cart line's quantity select (`quantity` selected) and its hidden override=True field.

    Rendered once per process for each quantity a line can hold, by the form itself: a 20-option
    select through Django's form templates cost several times the rest of the cart page, for
    each line. A quantity outside the choices (none reaches a line, see Cart) renders afresh.
    """
    if isinstance(quantity, int) and 1 <= quantity <= settings.CART_MAX_QUANTITY_PER_PRODUCT:
        return _quantity_fields(quantity)
    return quantity_fields_rendered(quantity)


@functools.cache
def _blank_form_fields(language: str) -> str:
    # The same HTML on every product page of a language (the CSRF token is outside it; the
    # label is translated): rendering its 20-option select through the form templates cost
    # more than the rest of the page.
    return CartAddProductForm().render()


@functools.cache
def _quantity_fields(quantity: int) -> str:
    return quantity_fields_rendered(quantity)


def quantity_fields_rendered(quantity) -> str:
    """What the cart page's template used to render for a line: the form's two fields."""
    form = CartAddProductForm(initial={"quantity": quantity, "override": True})
    return form["quantity"].as_widget() + form["override"].as_widget()
