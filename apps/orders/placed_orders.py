"""Which orders this browser session placed: only it may see their thank-you pages.

The database, not the session, is what says so. Session writes are last-writer-wins (a request
loads the session when it starts and writes it whole when it ends), so checkout writes nothing
to the session: a cart change racing it in another tab would overwrite that write or be
overwritten by it. Instead an order keeps the token of the cart contents it consumed, and the
session's cart still holds that token (or, if it changed meanwhile, the token it grew from).
A page that finds such a token settles the cart: the order's lines leave it, lines added
meanwhile stay, and the order joins the session's list of placed orders. That one write is made
to the session as stored, under its row's lock, so it cannot undo another tab's save either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

from apps.cart.cart import Cart
from apps.orders import selectors
from apps.orders.models import Order
from shop_project.sessions import session_change_as_stored

# The latest few, so that a shopper who comes back to an older tab still sees it.
_PLACED_ORDERS_SESSION_KEY = "orders_placed"
_PLACED_ORDERS_REMEMBERED = 20


@dataclass(frozen=True)
class OrderedFromCart:
    order_id: int
    cart_token: uuid.UUID
    quantities: dict[int, int]


def cart_settle(*, session) -> tuple[Cart, list[OrderedFromCart]]:
    """The session's cart without what orders consuming its tokens hold, and those orders, which
    are remembered as this session's.

    One query when the cart has tokens, and a session write only when an order was found. The
    write is made to the session as stored (shop_project.sessions), not as this request loaded
    it: a line another tab added meanwhile stays, and an order settled meanwhile by another
    request is not taken out of the cart twice.
    """
    cart = Cart(session)
    ordered = selectors.orders_from_cart_tokens(tokens=cart.tokens())
    if not ordered:
        return cart, []
    settled = [OrderedFromCart(order_id, token, units) for order_id, (token, units) in ordered.items()]

    def forget_ordered(stored) -> None:
        stored_cart = Cart(stored)
        held = set(stored_cart.tokens())
        unsettled = [order for order in settled if order.cart_token in held]
        if unsettled:
            units: dict[int, int] = {}
            for order in unsettled:
                for product_id, quantity in order.quantities.items():
                    units[product_id] = units.get(product_id, 0) + quantity
            stored_cart.forget_ordered(quantities=units, tokens=[order.cart_token for order in unsettled])
        for order in settled:
            remember_placed_order(session=stored, order_id=order.order_id)
        stored.modified = True

    session_change_as_stored(session, forget_ordered)
    return Cart(session), settled


def session_reference(session) -> str:
    """What an order keeps of the session that placed it (the unpaid-orders cap counts by it).

    Read, never written: a keyed hash of the session key, which the cart's first change gave
    the session, so checkout writes nothing to the session (see above). Empty for a session
    never saved. Not the key itself: the orders table must not hold what logs a shopper in.
    """
    key = getattr(session, "session_key", None)
    return salted_hmac("apps.orders.session_reference", key).hexdigest() if key else ""


def remember_placed_order(*, session, order_id: int) -> None:
    placed = [i for i in _placed_order_ids(session) if i != order_id]
    session[_PLACED_ORDERS_SESSION_KEY] = (placed + [order_id])[-_PLACED_ORDERS_REMEMBERED:]


def order_placed_by_session(*, session, order_id: int) -> Order | None:
    if not placed_by_session(session=session, order_id=order_id):
        return None
    return selectors.order_with_items(order_id=order_id)


def placed_by_session(*, session, order_id: int) -> bool:
    """Whether this session placed the order (once its cart is settled), without reading the order."""
    return order_id in _placed_order_ids(session)


def latest_order_placed_by_session(*, session) -> int | None:
    """The id of the order this session placed last (the payment page's default), if any."""
    placed = _placed_order_ids(session)
    return placed[-1] if placed else None


def _placed_order_ids(session) -> list[int]:
    ids = session.get(_PLACED_ORDERS_SESSION_KEY)
    if not isinstance(ids, list):
        return []
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
