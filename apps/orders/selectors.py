"""Reads of the orders app."""

import uuid
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Prefetch, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from apps.orders.models import Order, OrderItem


def orders_with_totals() -> QuerySet[Order]:
    """Orders annotated with `subtotal`, their items summed by the database (one query for any
    number); `order.get_totals(order.subtotal)` takes the discount off."""
    money = DecimalField(max_digits=12, decimal_places=2)
    line_cost = ExpressionWrapper(F("items__price") * F("items__quantity"), output_field=money)
    return Order.objects.annotate(
        subtotal=Coalesce(Sum(line_cost), Value(Decimal("0.00")), output_field=money)
    )


def order_with_items(*, order_id: int) -> Order | None:
    """The order, its coupon, its items and their products: two queries (the items join their products)."""
    items = Prefetch("items", queryset=OrderItem.objects.select_related("product"))
    return Order.objects.select_related("coupon").prefetch_related(items).filter(id=order_id).first()


def orders_from_cart_tokens(*, tokens) -> dict[int, tuple[uuid.UUID, dict[int, int]]]:
    """{order id: (the cart token it consumed, {product id: units})} for orders placed from
    any of these cart tokens; one query."""
    if not tokens:
        return {}
    rows = OrderItem.objects.filter(order__cart_token__in=list(tokens)).values_list(
        "order_id", "order__cart_token", "product_id", "quantity"
    )
    orders: dict[int, tuple[uuid.UUID, dict[int, int]]] = {}
    for order_id, token, product_id, quantity in rows:
        orders.setdefault(order_id, (token, {}))[1][product_id] = quantity
    return orders
