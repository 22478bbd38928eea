"""Is a rendered page Korean? The words of a page shown in Korean that are still in the Latin alphabet.

What a shopper reads counts: the text of the page and its <title>, and the attributes a browser
shows (title, placeholder, alt, aria-label, a button's value). What does not count:
- product data, which is the shop's, not the page's: any element with the attribute
  `data-product-text` (a product's or a category's name and description), and its content;
- what must not be translated: any element with `translate="no"` (HTML's own attribute: a coupon
  code, an order number, what the customer typed), and any element whose `lang` is not Korean
  (the switcher's "English");
- scripts, styles and templates; e-mail addresses and URLs; ALLOWED_PHRASES and ALLOWED, a short
  list of names.

    from tests.support.korean_page import assert_korean
    assert_korean(response.content.decode())
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

PRODUCT_DATA_ATTRIBUTE = "data-product-text"
# What stays as it is on a Korean page: the brand (a name: not translated), the payment
# provider, a file format, the currency codes the shop may show, and the time zone its times
# are given in (settings.TIME_ZONE).
ALLOWED_PHRASES = ("My Shop",)
ALLOWED = frozenset({"Stripe", "PDF", "USD", "KRW", "EUR", "GBP", "JPY", "UTC"})
VISIBLE_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")
BUTTON_INPUT_TYPES = {"submit", "button", "reset"}
NOT_SHOWN = {"script", "style", "template", "noscript"}

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL = re.compile(r"\b(?:https?://|www\.)\S+")


def _left_out(element) -> bool:
    if not isinstance(element.tag, str):  # comments, processing instructions
        return True
    if element.tag in NOT_SHOWN or PRODUCT_DATA_ATTRIBUTE in element.attrib:
        return True
    if element.get("translate") == "no":
        return True
    language = element.get("lang")
    return language is not None and element.tag != "html" and not language.lower().startswith("ko")


def _shown_texts(element):
    """The texts a shopper reads in `element` and its descendants that are not left out."""
    if _left_out(element):
        return
    for name in VISIBLE_ATTRIBUTES:
        if element.get(name):
            yield element.get(name)
    is_button_input = element.tag == "input" and element.get("type", "").lower() in BUTTON_INPUT_TYPES
    if (is_button_input or element.tag == "button") and element.get("value"):
        yield element.get("value")
    if element.text:
        yield element.text
    for child in element:
        yield from _shown_texts(child)
        if child.tail:  # the text after a child is its parent's, shown even when the child is not
            yield child.tail


def english_words(page_html: str) -> list[str]:
    """The Latin-alphabet words a shopper would read on the page that are not ALLOWED, in order."""
    root = lxml_html.document_fromstring(page_html)
    words = []
    for text in _shown_texts(root):
        text = URL.sub(" ", EMAIL.sub(" ", text))
        for phrase in ALLOWED_PHRASES:
            text = text.replace(phrase, " ")
        words.extend(word for word in LATIN_WORD.findall(text) if word not in ALLOWED)
    return words


def assert_korean(page_html: str) -> None:
    """Fail, naming them, if the page shows Latin-alphabet words outside product data."""
    words = english_words(page_html)
    assert not words, f"English left on the Korean page: {' '.join(dict.fromkeys(words))}"
