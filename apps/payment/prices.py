"""Amounts as the pages show them: in the shop's currency, written the active language's way.

"$1,234.50" and "₩15,000" in English, "15,000원" in Korean. The grouping is the language's (Django's
formats) and always on for money, whatever USE_THOUSAND_SEPARATOR says: that setting would group
every number a template prints, the order ids in `?order=` links included.
"""

from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language

from apps.payment.money import decimal_places

# Written before the number unless the language's own way is listed below.
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "krw": "₩"}
_WRITTEN_AFTER = {("ko", "krw"): "원"}


def money_shown(amount: Decimal, currency: str | None = None) -> str:
    """`amount` of `currency` (the shop's by default) for a page in the active language.

    Never rounds: amounts arrive rounded by order_totals, the one rounding rule, and one with more
    decimals than the currency has shows them all rather than hide a difference.
    """
    currency = (currency or settings.SHOP_CURRENCY).lower()
    amount = Decimal(amount)
    places = decimal_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        places = -amount.as_tuple().exponent
    number = number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)
    after = _WRITTEN_AFTER.get((get_language(), currency))
    if after:
        return f"{number}{after}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"
