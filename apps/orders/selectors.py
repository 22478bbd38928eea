"""Reads of the orders app."""

from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from apps.orders.models import Order


def orders_with_totals() -> QuerySet[Order]:
    """Orders annotated with `total_cost`, summed by the database (one query for any number)."""
    money = DecimalField(max_digits=12, decimal_places=2)
    line_cost = ExpressionWrapper(F("items__price") * F("items__quantity"), output_field=money)
    return Order.objects.annotate(
        total_cost=Coalesce(Sum(line_cost), Value(Decimal("0.00")), output_field=money)
    )


def order_with_items(*, order_id: int) -> Order | None:
    return Order.objects.prefetch_related("items__product").filter(id=order_id).first()
