"""Writes of the orders app: turning a cart into an order."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.cart.cart import Cart
from apps.orders.models import Order, OrderItem
from apps.shop.models import Product


@dataclass(frozen=True)
class Customer:
    first_name: str
    last_name: str
    email: str
    address: str
    postal_code: str
    city: str


class CheckoutError(Exception):
    """Checkout cannot go ahead; the message is meant for the shopper."""


class EmptyCartError(CheckoutError):
    def __init__(self):
        super().__init__("Your cart is empty.")


class ProductsUnavailableError(CheckoutError):
    def __init__(self, names: list[str]):
        self.names = names
        listed = ", ".join(names) if names else "A product in your cart"
        super().__init__(f"{listed} can no longer be bought. Please review your cart.")


class OutOfStockError(CheckoutError):
    def __init__(self, shortages: list[tuple[Product, int]]):
        self.shortages = shortages
        parts = [f"{product.name} (only {product.stock} left, you asked for {wanted})"
                 for product, wanted in shortages]
        super().__init__("Not enough stock for " + "; ".join(parts) + ".")


def order_create(*, cart: Cart, customer: Customer) -> Order:
    """Place the order for what the cart holds, at today's prices, and take the stock.

    One transaction: the products' rows are locked in id order (so that concurrent checkouts
    queue instead of deadlocking or overselling), stock is checked, the order and its items are
    written and the stock is taken. Nothing is written if any of that fails. The cart is
    cleared only once the order exists; a second submission of the same cart returns the
    order the first one made.
    """
    quantities = cart.quantities()
    if not quantities:
        raise EmptyCartError()
    try:
        with transaction.atomic():
            order = _place_order(quantities=quantities, cart_token=cart.token, customer=customer)
    except IntegrityError:
        # The cart token is the only unique value an order writes, and its constraint is the
        # last guard: should a concurrent submission of this cart get past the check in
        # _place_order (a database without row locks), the shopper is shown the order it made.
        order = Order.objects.filter(cart_token=cart.token).first()
        if order is None:
            raise
    cart.clear()
    return order


def _place_order(*, quantities: dict[int, int], cart_token, customer: Customer) -> Order:
    products = list(
        Product.objects.select_for_update().filter(id__in=quantities).order_by("id")
    )
    # Holding the locks, a concurrent submission of this same cart has either committed its
    # order or not started: if it has, that order is the answer (its stock is already taken).
    already_placed = Order.objects.filter(cart_token=cart_token).first() if cart_token else None
    if already_placed is not None:
        return already_placed
    found = {product.id for product in products}
    gone = [product.name for product in products if not product.available]
    if gone or len(found) != len(quantities):
        raise ProductsUnavailableError(gone)
    shortages = [(p, quantities[p.id]) for p in products if p.stock < quantities[p.id]]
    if shortages:
        raise OutOfStockError(shortages)

    order = Order.objects.create(cart_token=cart_token, **customer.__dict__)
    OrderItem.objects.bulk_create(
        OrderItem(order=order, product=product, price=product.price, quantity=quantities[product.id])
        for product in products
    )
    for product in products:
        product.stock -= quantities[product.id]
    Product.objects.bulk_update(products, ["stock"])
    return order
