"""A Korean shopper in Chromium: first visit in Korean, browse, the switcher, cart, checkout, pay.

The browser says Korean (Accept-Language ko-KR), so the first visit to / lands on /ko/; every
page after it is under /ko/ and says <html lang="ko">. On the product page the shopper switches
to English and back, and stays on that product's page. Pays with 4242 at localstripe. Selectors
are by structure, not by the words, which are Korean or English depending on the catalogs.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation
from playwright.sync_api import expect

from apps.orders.models import Order
from apps.orders.tests.factories import CUSTOMER
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.cards import VISA
from apps.shop.tests.factories import ProductFactory
from tests.browser.test_payment_journey import pay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def browser_locale() -> str:
    return "ko-KR"


def in_korean(page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert "/ko/" in page.url, page.url


def korean_url(product) -> str:
    with translation.override("ko"):
        return product.get_absolute_url()


class TestKoreanJourney:
    def test_a_korean_shopper_browses_switches_language_and_pays(
        self, page, live_server, localstripe, screenshot
    ):
        tea = ProductFactory(name="Green tea", price=Decimal("12.50"), stock=5)

        page.goto(live_server.url + "/")
        page.wait_for_url(f"{live_server.url}/ko/")
        in_korean(page)
        # test-artifacts/browser/ko-01-product-list.png is the README's docs/screenshots/product-list-ko.png.
        screenshot("ko-01-product-list")

        page.locator(f'a[href="{korean_url(tea)}"]').first.click()
        page.wait_for_url(f"**{korean_url(tea)}")
        in_korean(page)
        # The switcher: the same product in English, then back in Korean.
        page.locator(".language-switcher a[hreflang=en]").click()
        page.wait_for_url(f"**{tea.get_absolute_url()}")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.locator(".language-switcher a[hreflang=ko]").click()
        page.wait_for_url(f"**{korean_url(tea)}")
        in_korean(page)

        page.locator("form.add-to-cart select[name=quantity]").select_option("2")
        page.locator("form.add-to-cart button[type=submit]").click()
        page.wait_for_url("**/ko/cart/")
        in_korean(page)
        screenshot("ko-02-cart")

        page.locator('a[href="/ko/orders/create/"].button').click()
        page.wait_for_url("**/ko/orders/create/")
        in_korean(page)
        for field, value in CUSTOMER.items():
            page.locator(f"form.order-form [name={field}]").fill(value)
        page.locator("form.order-form button[type=submit]").click()
        page.wait_for_url("**/ko/payment/process/?order=*")
        in_korean(page)
        order = Order.objects.get(id=int(page.url.rsplit("=", 1)[1]))
        expect(page.locator("#card-element input")).to_have_count(5)
        screenshot("ko-03-payment")

        pay(page, VISA)
        page.wait_for_url("**/ko/payment/completed/?order=*")
        in_korean(page)
        expect(page.locator(".payment-status")).to_be_visible()
        screenshot("ko-04-paid")

        order.refresh_from_db()
        intent = stripe_client().v1.payment_intents.retrieve(order.stripe_id)
        assert (intent.status, intent.amount) == ("succeeded", 2500)
