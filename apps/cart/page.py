"""What a page that lists the cart does with what reading it found: notices, then one write."""

from django.contrib import messages
from django.utils.translation import gettext

from apps.cart.cart import Cart, CartLine
from shop_project.marks import product_text, sentence


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
