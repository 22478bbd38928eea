"""{{ amount|money }}: an amount of the shop's currency (or {{ amount|money:currency }}) as the
active language writes it."""

from django import template

from apps.payment.prices import money_shown

register = template.Library()


@register.filter
def money(amount, currency: str | None = None) -> str:
    if amount is None or amount == "":
        return ""
    return money_shown(amount, currency or None)
