"""Puts the shopper's cart in every template, for the header summary."""

from django.utils.functional import SimpleLazyObject

from apps.cart.cart import Cart


def cart(request):
    # Lazy: pages that render no header (the admin) never touch the session for it.
    return {"cart": SimpleLazyObject(lambda: Cart(request.session))}
