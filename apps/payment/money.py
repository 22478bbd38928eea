"""Money at Stripe's edge: a Decimal amount of the shop's currency in that currency's minor units.

Prices and totals are Decimals everywhere in the shop; they become integers only here, on their
way to Stripe, and come back through `from_minor_units` when Stripe reports an amount.
"""

from decimal import ROUND_HALF_UP, Decimal

# Currencies whose smallest unit is the unit itself: Stripe takes 15000 for ₩15,000, not 1500000.
# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# Currencies with three decimals: Stripe takes thousandths, but only multiples of ten of them,
# so what can be paid has two decimals (round_money).
THREE_DECIMAL_CURRENCIES = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})


def decimal_places(currency: str) -> int:
    """How many decimals an amount of `currency` has (0 for KRW and JPY, 2 for USD)."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def _payable_places(currency: str) -> int:
    return 2 if currency.lower() in THREE_DECIMAL_CURRENCIES else decimal_places(currency)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to what `currency` can be paid in: the shop's one rounding rule.

    Written with the currency's decimals (1.23 KWD is 1.230), so that it prints as the currency does.
    """
    rounded = amount.quantize(Decimal(1).scaleb(-_payable_places(currency)), rounding=ROUND_HALF_UP)
    return rounded.quantize(Decimal(1).scaleb(-decimal_places(currency)))


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The integer Stripe wants for `amount` of `currency` (19.90 USD -> 1990, 15000 KRW -> 15000).

    An amount with more decimals than the currency has is refused rather than rounded: rounding
    belongs to round_money, called where the total is computed, so that every page shows what
    is charged.
    """
    places = decimal_places(currency)
    if round_money(amount, currency) != amount:
        payable = _payable_places(currency)
        raise ValueError(f"{amount} {currency.upper()} has more than {payable} decimal place(s)")
    if amount < 0:
        raise ValueError(f"a negative amount cannot be charged: {amount}")
    return int(amount.scaleb(places))


def from_minor_units(minor: int, currency: str) -> Decimal:
    """The Decimal amount Stripe means by `minor` units of `currency`."""
    places = decimal_places(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))
