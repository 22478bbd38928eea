"""A shopper pays in Chromium: cart → checkout → the card typed into the card element → "paid".

The payment page loads localstripe's stand-in for Stripe.js (the `localstripe` fixture's
server), which renders the card element as plain inputs (placeholders number, exp_month,
exp_year, cvc, postal_code). The page's script confirms the card into its SetupIntent, posts the
PaymentMethod, and the server confirms the order's PaymentIntent; the completed page asks
Stripe and says paid. No page of the way breaks the Content-Security-Policy.

`checkout_and_pay(...)` returns the page on the completed page, so that a journey can go on
from there (the invoice e-mail, once the webhook and the worker have run).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.orders.models import Order
from apps.orders.tests.factories import CUSTOMER
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.cards import DECLINED, DECLINED_AT_CHARGE, VISA
from apps.shop.tests.factories import ProductFactory
from tests.browser.test_content_security_policy import LISTEN_FOR_VIOLATIONS, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def type_card(page, number: str) -> None:
    """Into localstripe's card element, as a shopper types it (its inputs move the focus on)."""
    element = page.locator("#card-element")
    element.get_by_placeholder("number", exact=True).fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("34")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("12345")


def checkout(page, live_server, product, quantity: int = 1) -> Order:
    """From the product page to the payment page; the order placed."""
    page.goto(live_server.url + product.get_absolute_url())
    page.locator("form.add-to-cart select[name=quantity]").select_option(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    page.get_by_role("link", name="Checkout").click()
    for field, value in CUSTOMER.items():
        page.locator(f"form.order-form [name={field}]").fill(value)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url("**/payment/process/?order=*")
    expect(page.get_by_role("heading", name="Pay for your order")).to_be_visible()
    return Order.objects.get(id=int(page.url.rsplit("=", 1)[1]))


def pay(page, number: str) -> None:
    """Type the card and press Pay; returns once the page has moved on or shown an error."""
    expect(page.locator("#card-element input")).to_have_count(5)  # Stripe.js mounted the element
    type_card(page, number)
    page.locator("#pay-button").click()


def checkout_and_pay(page, live_server, product, *, quantity: int = 1, card: str = VISA):
    """The whole journey; returns (page on /payment/completed/, the order)."""
    order = checkout(page, live_server, product, quantity)
    pay(page, card)
    page.wait_for_url("**/payment/completed/?order=*")
    return page, order


@pytest.fixture
def lamp():
    return ProductFactory(name="Walnut Desk Lamp", price=Decimal("19.90"), stock=5)


class TestPaymentJourney:
    def test_shopper_types_the_card_pays_and_sees_paid_with_no_policy_violation(
        self, page, live_server, localstripe, lamp, screenshot
    ):
        page.add_init_script(LISTEN_FOR_VIOLATIONS)
        order = checkout(page, live_server, lamp, quantity=2)
        expect(page.locator("#pay-button")).to_have_text("Pay $39.80 USD")
        screenshot("payment-01-card-form")
        on_payment_page = violations(page)

        pay(page, VISA)
        page.wait_for_url("**/payment/completed/?order=*")

        expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
        expect(page.locator(".payment-status")).to_contain_text("Your order is paid")
        screenshot("payment-02-paid")
        assert (on_payment_page, violations(page)) == ([], [])
        order.refresh_from_db()
        intent = stripe_client().v1.payment_intents.retrieve(order.stripe_id)
        assert (intent.status, intent.amount, intent.currency) == ("succeeded", 3980, "usd")

    def test_a_declined_card_says_so_and_another_card_pays(
        self, page, live_server, localstripe, lamp, screenshot
    ):
        order = checkout(page, live_server, lamp)

        pay(page, DECLINED)

        expect(page.locator("#card-errors")).to_have_text("Your card was declined.")
        expect(page.locator("#pay-button")).to_be_enabled()
        screenshot("payment-03-declined")
        page.reload()  # the form may be used again as it is; a reload must work as well
        pay(page, VISA)
        page.wait_for_url("**/payment/completed/?order=*")
        expect(page.locator(".payment-status")).to_contain_text("Your order is paid")
        order.refresh_from_db()
        assert stripe_client().v1.payment_intents.retrieve(order.stripe_id).status == "succeeded"

    def test_a_card_declined_at_charge_fails_and_the_order_is_paid_with_another(
        self, page, live_server, localstripe, lamp
    ):
        page, order = checkout_and_pay(page, live_server, lamp, card=DECLINED_AT_CHARGE)

        expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
        page.get_by_role("link", name="Try again with another card").click()
        pay(page, VISA)
        page.wait_for_url("**/payment/completed/?order=*")
        expect(page.locator(".payment-status")).to_contain_text("Your order is paid")
