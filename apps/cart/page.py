"""What a page that lists the cart does with what reading it found (notices, then one write), and
the cart page's HTML, made once for each content it shows."""

import hashlib
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.forms import Form
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language, gettext

from apps.cart.cart import Cart, CartLine
from apps.coupons.discount import Totals
from apps.shop.catalog_cache import CSRF_TOKEN_SLOT, page_for_visitor
from shop_project.marks import product_text, sentence

# How long a made cart page is kept after it was made. Its key holds all it shows, so a kept page
# is never wrong; this only bounds the memory of carts nobody looks at any more.
CART_PAGE_SECONDS = 300


def cart_lines_for_page(request, cart: Cart) -> list[CartLine]:
    """The lines to show. Lines that can no longer be bought leave the cart with a notice, and a
    damaged session value is replaced by its valid part; the session is written only then."""
    lines = cart.lines()
    unavailable = cart.unavailable_lines()
    for line in unavailable:
        if line.name is None:
            notice = gettext("A product in your cart is no longer sold and was removed.")
        else:
            notice = sentence(gettext("%(name)s is no longer available and was removed from your cart."),
                              name=product_text(line.name))
        messages.warning(request, notice)
    if unavailable or cart.damaged:
        cart.drop(line.product_id for line in unavailable)
    return lines


def cart_page(request, template_name: str, context: dict):
    """The cart page, from the copy made for this content when there is one.

    Rendering it cost more than all the rest of the request. The page is a function of its
    context and the language, and the copy's key is made of every value the context holds (each
    product's loaded fields, the quantities, the totals, the coupon, the header's count): two
    carts share a copy only when their pages would be the same, and a kept copy is never older
    than the products it was given (whose freshness is the catalog cache's). What differs per
    visitor is filled in (apps.shop.catalog_cache.page_for_visitor): the CSRF token, from a slot
    (never one visitor's token in another's page), and the language switcher's path. A page
    with notices to show (messages) is rendered for its visitor alone and never kept; a context
    value this key cannot describe makes the page rendered afresh too, never kept wrong.
    """
    key = _page_key(template_name, context)
    if key is None or len(messages.get_messages(request)):
        return render(request, template_name, context)
    html = cache.get(key)
    if html is None:
        # No request: its context processors (messages, the user) add nothing to this page, and
        # the switcher renders its slot for the path.
        html = render_to_string(template_name, {**context, "csrf_token": CSRF_TOKEN_SLOT})
        cache.set(key, html, CART_PAGE_SECONDS)
    return page_for_visitor(request, html)


class _Unknown(Exception):
    """A context value whose shown content the key cannot name."""


def _page_key(template_name: str, context: dict) -> str | None:
    try:
        described = repr((template_name, get_language(), sorted(
            (name, _described(value)) for name, value in context.items())))
    except _Unknown:
        return None
    return "cart:page:" + hashlib.blake2b(described.encode(), digest_size=20).hexdigest()


def _described(value):
    """What of `value` a template can show, as plain values."""
    if value is None or isinstance(value, (str, int, float, Decimal, date)):
        return value
    if isinstance(value, Cart):
        return ("cart", len(value))  # the header's count; its lines are in the context
    if isinstance(value, CartLine):
        return ("line", _described(value.product), value.quantity)
    if isinstance(value, Totals):
        return ("totals", value.subtotal, value.discount_percent, value.discount, value.total)
    if isinstance(value, Model):
        # Every loaded column; a deferred one (a description) would cost the page a query to show.
        loaded = value.__dict__
        return (value._meta.label, tuple(
            (field.attname, _described(loaded[field.attname]))
            for field in value._meta.concrete_fields if field.attname in loaded))
    if isinstance(value, FieldFile):
        return value.name
    if isinstance(value, Form) and not value.is_bound:
        return ("form", type(value).__qualname__, value.prefix, repr(sorted(value.initial.items())))
    if isinstance(value, (list, tuple)):
        return tuple(_described(item) for item in value)
    raise _Unknown(type(value).__qualname__)
