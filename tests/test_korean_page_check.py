"""The check that a Korean page shows no English outside product data (tests/support/korean_page.py)."""

import pytest

from tests.support.korean_page import assert_korean, english_words


def page(body: str, title: str = "장바구니 · My Shop") -> str:
    return f'<!doctype html><html lang="ko"><head><title>{title}</title></head><body>{body}</body></html>'


class TestKoreanPageCheck:
    def test_a_korean_page_passes(self):
        assert_korean(page("<h1>장바구니</h1><p>합계 12,000 KRW · Stripe 결제 · PDF 영수증</p>"))

    def test_english_text_is_named(self):
        with pytest.raises(AssertionError, match="Your cart is empty"):
            assert_korean(page("<p>Your cart is empty</p>"))

    def test_the_title_counts(self):
        assert english_words(page("<p>결제</p>", title="Checkout · My Shop")) == ["Checkout"]

    def test_product_data_does_not_count_but_the_text_after_it_does(self):
        body = ('<p><span data-product-text>Green Tea</span> added</p>'
                '<div data-product-text><p>Fresh</p></div>')

        assert english_words(page(body)) == ["added"]

    def test_untranslatable_and_other_language_elements_do_not_count(self):
        body = ('<p>쿠폰 <code translate="no">WELCOME10</code> 적용</p>'
                '<nav><a href="/language/?language=en" lang="en">English</a></nav>')

        assert english_words(page(body)) == []

    def test_visible_attributes_count_and_others_do_not(self):
        body = ('<img src="a.png" alt="Product photo"><input placeholder="Coupon code" name="code">'
                '<input type="submit" value="Apply"><button value="go">적용</button>'
                '<input type="hidden" name="shown" value="abc">'
                '<a href="/en/cart/" class="cart link">장바구니</a>'
                '<span title="Remove" aria-label="Remove line">x</span>')

        assert english_words(page(body)) == ["Product", "photo", "Coupon", "code", "Apply", "go", "Remove",
                                             "Remove", "line", "x"]

    def test_scripts_styles_addresses_and_the_brand_do_not_count(self):
        body = ('<script>var Stripe = "pay now";</script><style>.a { color: red }</style>'
                '<p>shop@example.com · https://example.com/help · My Shop</p>')

        assert english_words(page(body)) == []

    def test_the_brand_words_alone_are_english(self):
        assert english_words(page("<p>Shop now</p>")) == ["Shop", "now"]
