"""What a checkout page showed (its lines and prices), signed into the page's hidden field.

The shopper pays for what the page showed: checkout compares this with the database and places
nothing on a mismatch. Signed (django.core.signing, keyed by SECRET_KEY) so that a damaged or
hand-made value is recognised as such; it never sets a price, it can only stop an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core import signing

_SALT = "apps.orders.shown"


@dataclass(frozen=True)
class ShownLine:
    product_id: int
    name: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class ShownCheckout:
    lines: tuple[ShownLine, ...]

    @classmethod
    def of(cls, cart_lines) -> ShownCheckout:
        """What a page listing these cart lines shows."""
        return cls(
            tuple(
                ShownLine(line.product.id, line.product.name, line.quantity, line.product.price)
                for line in cart_lines
            )
        )


def shown_sign(shown: ShownCheckout) -> str:
    payload = [[line.product_id, line.name, line.quantity, str(line.price)] for line in shown.lines]
    return signing.dumps(payload, salt=_SALT, compress=True)


def shown_unsign(value) -> ShownCheckout | None:
    """The ShownCheckout a signed value holds; None if it is missing, damaged or forged."""
    if not isinstance(value, str) or not value:
        return None
    try:
        payload = signing.loads(value, salt=_SALT)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, list):
        return None
    lines = []
    for entry in payload:
        if not (isinstance(entry, list) and len(entry) == 4):
            return None
        product_id, name, quantity, price = entry
        if not (isinstance(product_id, int) and isinstance(name, str) and isinstance(quantity, int)
                and isinstance(price, str)):
            return None
        try:
            lines.append(ShownLine(product_id, name, quantity, Decimal(price)))
        except InvalidOperation:
            return None
    return ShownCheckout(tuple(lines))
