"""Orders as CSV for staff, safe to open in a spreadsheet."""

import csv
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from apps.orders.models import Order
from apps.orders.selectors import orders_with_totals
from apps.payment.money import round_money

COLUMNS = ["id", "first_name", "last_name", "email", "address", "postal_code", "city",
           "paid", "created", "updated", "subtotal", "discount", "total_cost"]

# A cell starting with one of these is run as a formula by spreadsheet programs; customers
# type these fields, so such a value is written as text.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def orders_csv_response(orders: QuerySet[Order]) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    for order in orders_with_totals().filter(pk__in=orders.values("pk")).order_by("id"):
        # The discount comes off as everywhere else (apps.coupons.discount); SQLite sums in
        # floating point, hence the rounding of the subtotal first.
        order.total_cost = order.get_totals(round_money(order.subtotal, settings.SHOP_CURRENCY)).total
        writer.writerow(_as_text(getattr(order, column)) for column in COLUMNS)
    return response


def _as_text(value) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        # SQLite sums in floating point; a money column reads the same on every database.
        return str(value.quantize(Decimal("0.01")))
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text

