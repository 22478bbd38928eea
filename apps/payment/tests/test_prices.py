"""Amounts as the pages write them (apps.payment.prices): the shop's currency, the language's way."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from apps.payment.prices import money_shown


class TestMoneyShown:
    @pytest.mark.parametrize(("language", "amount", "currency", "shown"), [
        ("en", "1234.50", "usd", "$1,234.50"),
        ("ko", "1234.50", "usd", "$1,234.50"),
        ("en", "15000.00", "krw", "₩15,000"),
        ("ko", "15000.00", "krw", "15,000원"),
        ("ko", "1500", "jpy", "¥1,500"),
        ("en", "9.90", "chf", "9.90 CHF"),
        ("en", "0.00", "usd", "$0.00"),
        ("en", "1234567.5", "eur", "€1,234,567.50"),
    ])
    def test_an_amount_is_grouped_with_the_currencys_decimals(self, language, amount, currency, shown):
        with translation.override(language):
            assert money_shown(Decimal(amount), currency) == shown

    def test_an_amount_with_more_decimals_than_the_currency_is_never_rounded_here(self):
        # Rounding is order_totals' (one place); a page shows a difference rather than hide it.
        assert money_shown(Decimal("15000.50"), "krw") == "₩15,000.50"

    def test_the_shops_currency_is_the_default(self, settings):
        settings.SHOP_CURRENCY = "krw"
        with translation.override("ko"):
            assert money_shown(Decimal("15000.00")) == "15,000원"

    def test_the_template_filter_writes_the_active_languages_way(self, settings):
        settings.SHOP_CURRENCY = "krw"
        template = Template("{% load money_tags %}{{ amount|money }} {{ amount|money:'usd' }}")

        with translation.override("ko"):
            assert template.render(Context({"amount": Decimal("15000")})) == "15,000원 $15,000.00"

    def test_numbers_outside_money_are_not_grouped(self):
        # USE_THOUSAND_SEPARATOR stays off: order ids go into ?order= links as they are.
        with translation.override("ko"):
            assert Template("{{ id }}").render(Context({"id": 12345})) == "12345"
