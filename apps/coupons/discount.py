"""The discount and the totals it leaves: the one place a coupon's percent becomes money.

Every page, e-mail and amount that shows or charges an order's total gets it from here: the
cart, the checkout page, Order.get_total_cost() (and so the PaymentIntent and the invoice), the
confirmation e-mail and the admin. The discount is the percent of the whole order total (not of
each line), rounded half-up to the shop currency's decimals (apps.payment.money.round_money).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from apps.payment.money import round_money

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_percent: int
    discount: Decimal  # the amount taken off
    total: Decimal  # what is charged

    @property
    def discounted(self) -> bool:
        return self.discount_percent > 0


def order_totals(subtotal: Decimal, discount_percent: int = 0) -> Totals:
    """Subtotal, discount and total of an order whose lines add up to `subtotal`."""
    discount = round_money(subtotal * Decimal(discount_percent) / _HUNDRED, settings.SHOP_CURRENCY)
    return Totals(subtotal=subtotal, discount_percent=discount_percent, discount=discount,
                  total=subtotal - discount)
