"""The shopper's cart, kept in the session.

The session holds only product ids and quantities (plus a token that names this cart for
checkout); prices and names always come from the database. Whatever the session holds is
treated as untrusted: a hand-edited or corrupted value is dropped, never a reason for a 500.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages

from apps.shop.models import Product

# Larger than any id a BigAutoField hands out; keeps a hand-edited key out of the SQL.
_MAX_PRODUCT_ID = 2**63 - 1


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def price(self) -> Decimal:
        return self.product.price

    @property
    def total_price(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def exceeds_stock(self) -> bool:
        return self.quantity > self.product.stock


def _clean_quantities(raw) -> dict[int, int]:
    """The valid part of what the session holds: {product id: quantity within bounds}."""
    if not isinstance(raw, dict):
        return {}
    quantities = {}
    for key, quantity in raw.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit()):
            continue
        product_id = int(key)
        if not 0 < product_id <= _MAX_PRODUCT_ID:
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            continue
        quantities[product_id] = min(quantity, settings.CART_MAX_QUANTITY_PER_PRODUCT)
    return quantities


class Cart:
    def __init__(self, request):
        self.request = request
        self.session = request.session
        stored = self.session.get(settings.CART_SESSION_ID)
        valid = stored if isinstance(stored, dict) else {}
        self._quantities = _clean_quantities(valid.get("items"))
        token = valid.get("token")
        self._token = token if isinstance(token, str) and _is_uuid_hex(token) else None
        self._lines: list[CartLine] | None = None
        if settings.CART_SESSION_ID in self.session and stored != self._as_stored():
            self._save()  # Write back only the valid part of a damaged cart.

    # Changes -------------------------------------------------------------------------------

    def add(self, product: Product, quantity: int = 1, override_quantity: bool = False) -> int:
        """Put `quantity` of `product` in the cart (or add to what is there); returns the
        quantity now held, which the per-product limit may have capped."""
        current = 0 if override_quantity else self._quantities.get(product.id, 0)
        held = min(current + quantity, settings.CART_MAX_QUANTITY_PER_PRODUCT)
        self._quantities[product.id] = held
        self._save(changed=True)
        return held

    def remove(self, product_id: int) -> None:
        if self._quantities.pop(product_id, None) is not None:
            self._save(changed=True)

    def clear(self) -> None:
        self._quantities = {}
        self._token = None
        self._lines = []
        self.session.pop(settings.CART_SESSION_ID, None)
        self.session.modified = True

    # Reads ---------------------------------------------------------------------------------

    @property
    def token(self) -> uuid.UUID | None:
        """Names this cart's contents, so that submitting them twice makes one order."""
        return uuid.UUID(hex=self._token) if self._token else None

    def quantities(self) -> dict[int, int]:
        return dict(self._quantities)

    def __len__(self) -> int:
        # From the session alone, so that the header summary costs no query.
        return sum(self._quantities.values())

    def __iter__(self):
        return iter(self.lines())

    def lines(self) -> list[CartLine]:
        """The cart's lines with their products, loaded in one query and then kept.

        Products that disappeared or were made unavailable leave the cart, with a notice.
        """
        if self._lines is None:
            self._lines = self._load_lines()
        return self._lines

    def get_total_price(self) -> Decimal:
        return sum((line.total_price for line in self.lines()), Decimal("0.00"))

    # Internals -----------------------------------------------------------------------------

    def _load_lines(self) -> list[CartLine]:
        if not self._quantities:
            return []
        products = Product.objects.in_bulk(list(self._quantities))
        held = len(self._quantities)
        lines = []
        for product_id, quantity in list(self._quantities.items()):
            product = products.get(product_id)
            if product is not None and product.available:
                lines.append(CartLine(product=product, quantity=quantity))
                continue
            del self._quantities[product_id]
            if product is None:
                notice = "A product in your cart is no longer sold and was removed."
            else:
                notice = f"{product.name} is no longer available and was removed from your cart."
            messages.warning(self.request, notice)
        if len(lines) < held:
            self._save()
        return lines

    def _as_stored(self) -> dict:
        return {"token": self._token, "items": {str(k): v for k, v in self._quantities.items()}}

    def _save(self, *, changed: bool = False) -> None:
        if not self._quantities:
            self.clear()
            return
        # New contents, new token: a checkout still running for the old contents in another tab
        # must not be mistaken for this cart's order.
        if changed or self._token is None:
            self._token = uuid.uuid4().hex
        self._lines = None
        self.session[settings.CART_SESSION_ID] = self._as_stored()
        self.session.modified = True


def _is_uuid_hex(value: str) -> bool:
    try:
        return uuid.UUID(hex=value).hex == value
    except ValueError:
        return False
