"""Template tags for pages of other apps that sell a product: {% cart_add_form product %}."""

import functools

from django import template

from apps.cart.forms import CartAddProductForm

register = template.Library()


@register.inclusion_tag("cart/includes/add_form.html")
def cart_add_form(product):
    """The add-to-cart form of a product page; the page's CSRF token is passed on to it."""
    return {"product": product, "fields": _blank_form_fields()}


@functools.cache
def _blank_form_fields() -> str:
    # The same HTML on every product page (the CSRF token is outside it): rendering its
    # 20-option select through the form templates cost more than the rest of the page.
    return CartAddProductForm().render()
