"""What a checkout page showed (its lines, prices and coupon), signed into the page's hidden field.

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
class ShownCoupon:
    code: str
    discount: int  # percent


@dataclass(frozen=True)
class ShownCheckout:
    lines: tuple[ShownLine, ...]
    coupon: ShownCoupon | None = None

    @classmethod
    def of(cls, cart_lines, coupon=None) -> ShownCheckout:
        """What a page listing these cart lines, with this coupon (a Coupon or None), shows."""
        return cls(
            tuple(
                ShownLine(line.product.id, line.product.name, line.quantity, line.product.price)
                for line in cart_lines
            ),
            ShownCoupon(coupon.code, coupon.discount) if coupon is not None else None,
        )


def shown_sign(shown: ShownCheckout) -> str:
    lines = [[line.product_id, line.name, line.quantity, str(line.price)] for line in shown.lines]
    coupon = [shown.coupon.code, shown.coupon.discount] if shown.coupon else None
    return signing.dumps({"lines": lines, "coupon": coupon}, salt=_SALT, compress=True)


def shown_unsign(value) -> ShownCheckout | None:
    """The ShownCheckout a signed value holds; None if it is missing, damaged or forged."""
    if not isinstance(value, str) or not value:
        return None
    try:
        payload = signing.loads(value, salt=_SALT)
    except (signing.BadSignature, ValueError):
        return None
    # A bare list of lines: a page shown before coupons, which showed none.
    if isinstance(payload, list):
        payload = {"lines": payload, "coupon": None}
    if not (isinstance(payload, dict) and isinstance(payload.get("lines"), list)):
        return None
    coupon = _coupon_unpacked(payload.get("coupon"))
    if coupon is False:
        return None
    lines = []
    for entry in payload["lines"]:
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
    return ShownCheckout(tuple(lines), coupon)


def _coupon_unpacked(entry) -> ShownCoupon | None | bool:
    """The ShownCoupon a payload's entry holds; None for no coupon, False for a damaged entry."""
    if entry is None:
        return None
    if not (isinstance(entry, list) and len(entry) == 2):
        return False
    code, discount = entry
    if not (isinstance(code, str) and isinstance(discount, int) and not isinstance(discount, bool)):
        return False
    return ShownCoupon(code, discount)
