"""Amounts on their way to Stripe: minor units per currency, and the one rounding rule."""

from decimal import Decimal

import pytest

from apps.payment.money import decimal_places, from_minor_units, round_money, to_minor_units


class TestToMinorUnits:
    @pytest.mark.parametrize(
        ("amount", "currency", "minor"),
        [
            ("19.90", "usd", 1990),
            ("0.01", "eur", 1),
            ("15000", "krw", 15000),
            ("15000.00", "KRW", 15000),  # prices are stored with two decimals whatever the currency
            ("980", "jpy", 980),
            ("1.230", "kwd", 1230),
            ("1.24", "kwd", 1240),
            ("0", "usd", 0),
        ],
    )
    def test_amount_becomes_the_integer_stripe_wants(self, amount, currency, minor):
        assert to_minor_units(Decimal(amount), currency) == minor

    def test_more_decimals_than_the_currency_has_is_refused_not_rounded(self):
        with pytest.raises(ValueError, match="decimal place"):
            to_minor_units(Decimal("15000.50"), "krw")
        with pytest.raises(ValueError, match="decimal place"):
            to_minor_units(Decimal("19.999"), "usd")
        with pytest.raises(ValueError, match="2 decimal place"):
            # Stripe takes three-decimal currencies in multiples of ten thousandths only.
            to_minor_units(Decimal("1.235"), "kwd")

    def test_negative_amount_is_refused(self):
        with pytest.raises(ValueError, match="negative"):
            to_minor_units(Decimal("-1.00"), "usd")

    @pytest.mark.parametrize(
        ("minor", "currency", "amount"), [(1990, "usd", "19.90"), (15000, "krw", "15000")]
    )
    def test_from_minor_units_is_the_inverse(self, minor, currency, amount):
        assert from_minor_units(minor, currency) == Decimal(amount)
        assert to_minor_units(from_minor_units(minor, currency), currency) == minor


class TestRoundMoney:
    def test_rounds_half_up_to_the_currency(self):
        assert round_money(Decimal("10.005"), "usd") == Decimal("10.01")
        assert round_money(Decimal("10.004"), "usd") == Decimal("10.00")
        assert round_money(Decimal("1500.5"), "krw") == Decimal("1501")
        assert decimal_places("JPY") == 0

    def test_three_decimal_currencies_round_to_what_stripe_can_charge(self):
        assert round_money(Decimal("1.235"), "kwd") == Decimal("1.240")
        assert str(round_money(Decimal("1.2"), "kwd")) == "1.200"
        assert to_minor_units(round_money(Decimal("1.235"), "kwd"), "kwd") == 1240
