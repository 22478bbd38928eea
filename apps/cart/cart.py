"""The shopper's cart, kept in the session.

The session holds only product ids and quantities, plus a token that names these contents for
checkout and the tokens of what the cart held before ("grew from"); prices and names always come
from the database (on the cart page through the catalog cache, at most its freshness old).
Whatever the session holds is treated as untrusted: a hand-edited or corrupted value is ignored,
never a reason for a 500.

Cart wraps the session and nothing else. Reading never writes: what a read finds (products that
vanished or were withdrawn, a damaged value) is reported to the caller, and the caller decides to
drop it. Only the changes below write the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from apps.shop.models import Product

# Larger than any id a BigAutoField hands out; keeps a hand-edited key out of the SQL.
_MAX_PRODUCT_ID = 2**63 - 1
# How many earlier contents a cart remembers. A checkout of one of them may still be running in
# another request; more changes than this while one runs is not a shopper.
_EARLIER_TOKENS_KEPT = 10


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


@dataclass(frozen=True)
class UnavailableLine:
    """A line whose product was deleted (name None) or made unavailable."""

    product_id: int
    name: str | None
    quantity: int


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


def _clean_token(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return value if uuid.UUID(hex=value).hex == value else None
    except ValueError:
        return None


def _clean_tokens(raw) -> list[str]:
    if not isinstance(raw, list):
        return []
    tokens = [token for token in map(_clean_token, raw) if token]
    return list(dict.fromkeys(tokens))[:_EARLIER_TOKENS_KEPT]


def _products_from_database(product_ids: list[int]) -> dict[int, Product]:
    # Unordered: the lines keep the session's order, and an ORDER BY costs its compilation.
    return {p.id: p for p in Product.objects.filter(id__in=product_ids).order_by()}


class Cart:
    def __init__(self, session,
                 products: Callable[[list[int]], dict[int, Product]] = _products_from_database):
        """`products` reads the lines' products by id: the database (checkout), or the catalog
        cache (the cart page, apps.shop.catalog_cache.catalog_products)."""
        self.session = session
        self._read_products = products
        stored = session.get(settings.CART_SESSION_ID)
        valid = stored if isinstance(stored, dict) else {}
        self._quantities = _clean_quantities(valid.get("items"))
        self._token = _clean_token(valid.get("token"))
        self._earlier = _clean_tokens(valid.get("grew_from"))
        # Items without a token come from an older or hand-made session: checkout needs one.
        self._damaged = settings.CART_SESSION_ID in session and (
            stored != self._as_stored() or (bool(self._quantities) and self._token is None)
        )
        self._lines: list[CartLine] | None = None
        self._unavailable: list[UnavailableLine] = []

    # Reads ---------------------------------------------------------------------------------

    @property
    def token(self) -> uuid.UUID | None:
        """Names this cart's contents, so that submitting them twice makes one order."""
        return uuid.UUID(hex=self._token) if self._token else None

    @property
    def earlier_tokens(self) -> list[uuid.UUID]:
        """The tokens of what this cart held before its latest changes, newest first."""
        return [uuid.UUID(hex=token) for token in self._earlier]

    def tokens(self) -> list[uuid.UUID]:
        return ([self.token] if self._token else []) + self.earlier_tokens

    def quantities(self) -> dict[int, int]:
        return dict(self._quantities)

    @property
    def damaged(self) -> bool:
        """The session holds more than the valid part read here (a hand-edited or old value)."""
        return self._damaged

    def page_copy_key(self) -> int:
        """What a page kept by shop_project.page_copies shows of the cart: the header's count.
        Not its lines: a page that shows them puts them in its context (CartLine, with their
        products), as the cart page does, so that they are in the copy's key."""
        return len(self)

    def __len__(self) -> int:
        # From the session alone, so that the header summary costs no query.
        return sum(self._quantities.values())

    def __iter__(self):
        return iter(self.lines())

    def lines(self) -> list[CartLine]:
        """The lines whose products can be bought, loaded in one query and then kept.

        Lines of products that disappeared or were made unavailable are left out here and
        reported by unavailable_lines(); they stay in the session until the caller drops them.
        """
        if self._lines is None:
            self._lines = self._load_lines()
        return self._lines

    def unavailable_lines(self) -> list[UnavailableLine]:
        self.lines()
        return list(self._unavailable)

    def get_total_price(self) -> Decimal:
        return sum((line.total_price for line in self.lines()), Decimal("0.00"))

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

    def drop(self, product_ids) -> None:
        """Drop lines that can never be bought (unavailable), and any damage the session held.

        The token stays: what is left is what a checkout of these contents could order.
        """
        dropped = set(product_ids)
        for product_id in dropped:
            self._quantities.pop(product_id, None)
        lines = self._lines
        self._save()
        if lines is not None:  # still the lines held: only unbuyable ones left
            self._lines = [line for line in lines if line.product.id not in dropped]
            self._unavailable = [line for line in self._unavailable if line.product_id not in dropped]

    def forget_ordered(self, *, quantities: dict[int, int], tokens) -> None:
        """An order was placed from these contents (or earlier ones, named by `tokens`): its
        units leave the cart, and whatever was added meanwhile stays."""
        for product_id, ordered in quantities.items():
            left = self._quantities.get(product_id, 0) - ordered
            if left > 0:
                self._quantities[product_id] = left
            else:
                self._quantities.pop(product_id, None)
        consumed = {token.hex for token in tokens}
        history = ([self._token] if self._token else []) + self._earlier
        newer = []
        for token in history:
            if token in consumed:
                break  # this one and all before it were ordered, or made older ones
            newer.append(token)
        self._token = None
        self._earlier = newer[:_EARLIER_TOKENS_KEPT]
        self._save()

    def clear(self) -> None:
        self._quantities = {}
        self._token = None
        self._earlier = []
        self._lines = []
        self._unavailable = []
        self.session.pop(settings.CART_SESSION_ID, None)
        self.session.modified = True

    # Internals -----------------------------------------------------------------------------

    def _load_lines(self) -> list[CartLine]:
        self._unavailable = []
        if not self._quantities:
            return []
        products = self._read_products(list(self._quantities))
        doubtful = [product_id for product_id in self._quantities
                    if product_id not in products or not products[product_id].available]
        if doubtful and self._read_products is not _products_from_database:
            # A cached copy may be older than a product made available again in another process:
            # what the page drops from the cart is decided by the database.
            fresh = _products_from_database(doubtful)
            products = {**{k: v for k, v in products.items() if k not in doubtful}, **fresh}
        lines = []
        for product_id, quantity in self._quantities.items():
            product = products.get(product_id)
            if product is not None and product.available:
                lines.append(CartLine(product=product, quantity=quantity))
            else:
                name = product.name if product is not None else None
                self._unavailable.append(UnavailableLine(product_id, name, quantity))
        return lines

    def _as_stored(self) -> dict:
        stored = {"token": self._token, "items": {str(k): v for k, v in self._quantities.items()}}
        if self._earlier:
            stored["grew_from"] = list(self._earlier)
        return stored

    def _save(self, *, changed: bool = False) -> None:
        if not self._quantities:
            if self._token or self._earlier:
                # Emptied (by the shopper, or by dropping what can no longer be bought): the
                # tokens stay, since a checkout of what it held may still be running in another
                # tab, or have placed an order whose thank-you page is found through them.
                self._earlier = ([self._token] if self._token else []) + self._earlier
                self._earlier = self._earlier[:_EARLIER_TOKENS_KEPT]
                self._token = None
                self._lines = []
                self._unavailable = []
                self.session[settings.CART_SESSION_ID] = self._as_stored()
                self.session.modified = True
            else:
                self.clear()
            return
        # New contents, new token: a checkout still running for the old contents in another tab
        # must not be mistaken for this cart's order. The old token is kept, so that such an
        # order, once placed, is found and its lines leave this cart.
        if changed or self._token is None:
            if self._token is not None:
                self._earlier = [self._token, *self._earlier][:_EARLIER_TOKENS_KEPT]
            self._token = uuid.uuid4().hex
        self._damaged = False
        self._lines = None
        self.session[settings.CART_SESSION_ID] = self._as_stored()
        self.session.modified = True
