"""Words inside the shop's own sentences that are not the shop's to translate, marked in the HTML.

A Korean page may show a product's English name (no Korean one yet) or a coupon code as typed:
those are data, not words left untranslated, and the markup says so, for the checks of
tests/support/korean_page.py and for the browser (HTML's translate="no" keeps page translators
off a code).
"""

from decimal import Decimal

from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe


def product_text(text) -> SafeString:
    """A product's or category's name inside a sentence."""
    return format_html('<span data-product-text>{}</span>', text)


def kept_as_is(text) -> SafeString:
    """A code or a number to show exactly as it is: never translated."""
    return format_html('<span translate="no">{}</span>', text)


def sentence(translated: str, **values) -> SafeString:
    """A translated %-format sentence with `values` put in: the sentence and every value but a
    number are escaped (marks made above are kept), numbers formatted as the sentence says."""
    escaped = {name: value if isinstance(value, (int, float, Decimal)) else conditional_escape(value)
               for name, value in values.items()}
    return mark_safe(escape(translated) % escaped)
