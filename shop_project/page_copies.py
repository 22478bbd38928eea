"""Pages made once for what they show and shared, filled in per visitor: the slots, and the kept
copies of the pages a shopper with a session sees (the cart page, a product page).

A page is a function of its context and the language. page_from_copy() keys its copy by a
description of every value in the context (each model instance's loaded fields and the related
objects loaded with it, the values of dataclasses, what page_copy_key() says of other objects),
so two requests share a copy only when their pages would be the same, and a copy is never older
than the data its request read: the copies hold no freshness of their own. What differs per
visitor is never in a copy: the CSRF token and the language switcher's path are slots, filled
by page_for_visitor(); a page with notices (messages) is rendered for its visitor alone. A value
the description cannot name makes the page rendered afresh, never kept wrong.
"""

import dataclasses
import hashlib
import secrets
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.forms import Form
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

from apps.cart.context_processors import cart as header_cart
from shop_project.languages import fill_switcher

# Stands in for the CSRF token in a shared page and is replaced by the visitor's own. Random per
# process, so no product text can contain it; hex, so escaping leaves it as it is.
CSRF_TOKEN_SLOT = f"csrf-token-slot-{secrets.token_hex(16)}"
# How long a copy is kept after it was made. Its key holds all it shows, so a kept copy is never
# wrong; this only bounds the memory of pages nobody asks for any more.
PAGE_COPY_SECONDS = 300


def page_for_visitor(request, html: str) -> HttpResponse:
    """A page made for more than one visitor, with this visitor's CSRF token where it has a form
    (CSRF_TOKEN_SLOT) and path in its language switcher (NEXT_SLOT)."""
    if CSRF_TOKEN_SLOT in html:
        html = html.replace(CSRF_TOKEN_SLOT, get_token(request))  # also sets the CSRF cookie
    html = fill_switcher(html, request)
    response = HttpResponse(html)
    patch_vary_headers(response, ["Cookie"])
    return response


def page_from_copy(request, template_name: str, context: dict) -> HttpResponse:
    """The page, from the copy made for this content when there is one.

    `context` must hold all the page shows: the copy is rendered without the request, so no
    context processor adds to it. The one of the layout's header (templates/base.html), the
    shopper's cart, is added here.
    """
    context = page_context(request, context)
    html = page_copy(request, template_name, context)
    if html is None:
        return render(request, template_name, context)
    return page_for_visitor(request, html)


def page_context(request, context: dict) -> dict:
    """`context` with what the layout's header shows (the shopper's cart), as page_from_copy has it."""
    return {**header_cart(request), **context}


def page_copy(request, template_name: str, context: dict, *, keep: bool = True) -> str | None:
    """The page's shared HTML, with its slots (page_for_visitor fills them), from the copy made
    for this content or rendered now and kept; None for a page that must be rendered for this
    visitor alone (it has notices, or a value the copy's key cannot describe).

    `context` is a page_context(), the header's cart included. keep=False renders a missing
    copy without keeping it (for a caller that keeps the HTML itself).
    """
    if len(messages.get_messages(request)):
        return None
    key = _copy_key(template_name, context)
    if key is None:
        return None
    html = cache.get(key)
    if html is None:
        # No request: the switcher renders its slot for the path.
        html = render_to_string(template_name, {**context, "csrf_token": CSRF_TOKEN_SLOT})
        if keep:
            cache.set(key, html, PAGE_COPY_SECONDS)
    return html


class _Unknown(Exception):
    """A context value whose shown content the key cannot name."""


def _copy_key(template_name: str, context: dict) -> str | None:
    try:
        described = repr((template_name, get_language(), sorted(
            (name, _described(value)) for name, value in context.items())))
    except _Unknown:
        return None
    return "page-copy:" + hashlib.blake2b(described.encode(), digest_size=20).hexdigest()


def _described(value):
    """What of `value` a template can show, as plain values."""
    if value is None or isinstance(value, (str, int, float, Decimal, date)):
        return value
    if isinstance(value, Model):
        # All the instance holds: its loaded columns, what a query annotated it with, and the
        # related objects loaded with it (select_related). A deferred column or another relation
        # would cost the page a query to show, which the query counts' tests would see.
        # Prefetched objects are not described: a page given one is rendered afresh.
        held = tuple((name, _described(held_value)) for name, held_value in value.__dict__.items()
                     if name != "_state")
        related = tuple(sorted((name, _described(other))
                               for name, other in value._state.fields_cache.items()))
        return (value._meta.label, held, related)
    if isinstance(value, FieldFile):
        return value.name
    if isinstance(value, Form) and not value.is_bound:
        return ("form", type(value).__qualname__, value.prefix, repr(sorted(value.initial.items())))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, tuple(
            (field.name, _described(getattr(value, field.name))) for field in dataclasses.fields(value)))
    if isinstance(value, (list, tuple)):
        return tuple(_described(item) for item in value)
    if hasattr(value, "page_copy_key"):
        return (type(value).__qualname__, value.page_copy_key())
    raise _Unknown(type(value).__qualname__)
