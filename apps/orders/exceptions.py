"""The orders app's typed errors: why a checkout placed no order, and where a confirmation stands.

Each error's str() is a sentence for the shopper; its attributes are the data behind it (ids,
names, quantities, prices), for views and tests that need more than the sentence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext, ngettext

from apps.payment.prices import money_shown


class CheckoutError(Exception):
    """Checkout cannot go ahead; nothing was written."""


class EmptyCartError(CheckoutError):
    def __init__(self):
        super().__init__(gettext("Your cart is empty."))


@dataclass(frozen=True)
class UnavailableProduct:
    product_id: int
    name: str | None  # None: the product no longer exists


class ProductsUnavailableError(CheckoutError):
    def __init__(self, products: list[UnavailableProduct]):
        self.products = products
        names = [product.name for product in products if product.name]
        if names:
            text = gettext("%(names)s can no longer be bought. Please review your cart.") % {
                "names": ", ".join(names)}
        else:
            text = gettext("A product in your cart can no longer be bought. Please review your cart.")
        super().__init__(text)


@dataclass(frozen=True)
class Shortage:
    product_id: int
    name: str
    available: int
    wanted: int


class OutOfStockError(CheckoutError):
    def __init__(self, shortages: list[Shortage]):
        self.shortages = shortages
        parts = [
            gettext("%(name)s (only %(available)d left, you asked for %(wanted)d)")
            % {"name": s.name, "available": s.available, "wanted": s.wanted}
            for s in shortages
        ]
        super().__init__(gettext("Not enough stock for %(shortages)s.") % {"shortages": "; ".join(parts)})


# What changed between showing the checkout page and submitting it.


@dataclass(frozen=True)
class LineAdded:
    product_id: int
    name: str
    quantity: int

    def __str__(self):
        return gettext("new line %(quantity)d × %(name)s") % {"quantity": self.quantity, "name": self.name}


@dataclass(frozen=True)
class LineRemoved:
    product_id: int
    name: str

    def __str__(self):
        return gettext("%(name)s no longer in your cart") % {"name": self.name}


@dataclass(frozen=True)
class QuantityChanged:
    product_id: int
    name: str
    shown: int
    now: int

    def __str__(self):
        return gettext("%(name)s now %(now)d instead of %(shown)d") % {
            "name": self.name, "now": self.now, "shown": self.shown}


@dataclass(frozen=True)
class PriceChanged:
    product_id: int
    name: str
    shown: Decimal
    now: Decimal

    def __str__(self):
        return gettext("price of %(name)s now %(now)s instead of %(shown)s") % {
            "name": self.name, "now": money_shown(self.now), "shown": money_shown(self.shown)}


Change = LineAdded | LineRemoved | QuantityChanged | PriceChanged


class CheckoutChangedError(CheckoutError):
    """The cart or a price differs from what the checkout page showed."""

    def __init__(self, changes: list[Change]):
        self.changes = changes
        listed = "; ".join(str(change) for change in changes)
        super().__init__(gettext(
            "Your order changed after this page was shown, so it was not placed: %(changes)s. "
            "Please check it below and place it again."
        ) % {"changes": listed})


class CartAlreadyOrderedError(CheckoutError):
    """An earlier state of this cart (another tab, a request racing this one) became an order
    meanwhile: ordering this state too would sell the same goods twice."""

    def __init__(self, order_id: int, cart_token: uuid.UUID):
        self.order_id = order_id
        self.cart_token = cart_token
        super().__init__(gettext(
            "Part of your cart was ordered meanwhile (order %(number)s), so this order was not "
            "placed. Please check it below and place it again."
        ) % {"number": order_id})


class TooManyUnpaidOrdersError(CheckoutError):
    """The e-mail address or the session already holds SHOP_MAX_UNPAID_ORDERS unpaid orders:
    one client must not reserve the whole catalog by checking out and never paying."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(ngettext(
            "You already have %(limit)d unpaid order waiting. Please pay for it, or wait until it "
            "expires, before placing another. Your cart is kept.",
            "You already have %(limit)d unpaid orders waiting. Please pay for one of them, or wait "
            "until an unpaid order expires, before placing another. Your cart is kept.",
            limit,
        ) % {"limit": limit})


class NothingToChargeError(CheckoutError):
    """The order would come to nothing (a 100 % coupon, free products): a card cannot be charged
    nothing, and an order placed anyway would hold its stock, unpayable, until it expired."""

    def __init__(self):
        super().__init__(gettext(
            "Your order comes to nothing, and there is nothing to pay by card, so it was not "
            "placed. Please remove the coupon or add to your cart."
        ))


class CheckoutBusyError(CheckoutError):
    """Every attempt lost a lock race (deadlock or serialization failure) to other writers."""

    def __init__(self, attempts: int):
        self.attempts = attempts
        super().__init__(gettext(
            "The shop was too busy to place your order just now. Nothing was ordered and your cart "
            "is kept: please place it again."
        ))


# Confirmation e-mail -----------------------------------------------------------------------


class ConfirmationNotSentError(Exception):
    """Sending failed in a way worth retrying; the claim was released for the retry."""


class ConfirmationClaimedError(Exception):
    """A live claim holds the order (another worker's, or this delivery's own after a send of
    unknown outcome); it can be judged once its lease ends."""

    def __init__(self, *, order_id: int, lease_ends_at: datetime, message: str = ""):
        self.order_id = order_id
        self.lease_ends_at = lease_ends_at
        super().__init__(
            message or f"order {order_id}: claimed by another worker until {lease_ends_at.isoformat()}"
        )


class ConfirmationOutcomeUnknownError(ConfirmationClaimedError):
    """The send failed in a way that leaves it unknown whether the mail server took the e-mail
    (no answer after the message went out, the time limit mid-send). The claim is kept until
    its lease ends: a retry before then could send a second e-mail."""

    def __init__(self, *, order_id: int, lease_ends_at: datetime, error: str):
        self.error = error
        super().__init__(
            order_id=order_id, lease_ends_at=lease_ends_at,
            message=f"order {order_id}: the send failed after the mail server may have taken the "
                    f"e-mail ({error}); the claim holds until {lease_ends_at.isoformat()}",
        )


class ConfirmationGivenUpError(Exception):
    """The order's confirmation failed for good. Its message keeps failing, so that the queue's
    dead-letter policy takes it (a message that succeeded would just be deleted)."""
