"""The whole way in Chromium: two products, a coupon on the cart page, checkout, the card, "paid",
and the invoice e-mail with its PDF, which the real `celery worker` sent (issues 10 and 11).

Nothing on the way is called by the test: localstripe posts its signed webhook to the live
server, whose webhook view marks the order paid and publishes the invoice task on commit to an
embedded broker; the worker subprocess (on the test database, pointed at the same localstripe)
renders the PDF and writes the e-mail to a file. The PDF's text, the order and the PaymentIntent
at localstripe must then show the same discounted total.
"""

from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from playwright.sync_api import expect
from pypdf import PdfReader

from apps.coupons.tests.factories import CouponFactory
from apps.orders.models import Order
from apps.orders.tests.factories import CUSTOMER
from apps.payment.models import StripeEvent
from apps.payment.money import to_minor_units
from apps.payment.stripe_api import stripe_client
from apps.payment.tests.cards import VISA
from apps.shop.tests.factories import ProductFactory
from devtools.workers import EMAIL_ARRIVAL_SECONDS, wait_for, wait_for_emails
from tests.browser.test_payment_journey import pay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# localstripe posts an event about a second after it; the webhook view answers at once.
WEBHOOK_ARRIVAL_SECONDS = 15


@pytest.fixture
def worker(localstripe, monkeypatch, request):
    """The embedded broker's worker, with the Stripe settings of this test's localstripe.

    The worker runs the local settings from its environment, not this process's test settings
    that the `localstripe` fixture changed; the environment is set before the worker starts.
    """
    monkeypatch.setenv("STRIPE_API_BASE", localstripe.api_base)
    monkeypatch.setenv("STRIPE_JS_URL", localstripe.js_url)
    monkeypatch.setenv("STRIPE_SECRET_KEY", settings.STRIPE_SECRET_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", settings.STRIPE_WEBHOOK_SECRET)
    return request.getfixturevalue("embedded_broker_worker")


def add_to_cart(page, live_server, product, quantity: int) -> None:
    page.goto(live_server.url + product.get_absolute_url())
    page.locator("form.add-to-cart select[name=quantity]").select_option(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


class TestCouponPaymentJourney:
    def test_shopper_applies_a_coupon_pays_the_discounted_total_and_gets_the_invoice_pdf(
        self, page, live_server, localstripe, worker, mail_dir, screenshot
    ):
        localstripe.register_webhook(
            f"journey-{uuid.uuid4().hex[:12]}", url=live_server.url + "/payment/webhook/",
            secret=settings.STRIPE_WEBHOOK_SECRET)
        lamp = ProductFactory(name="Walnut Desk Lamp", price=Decimal("19.90"), stock=5)
        mug = ProductFactory(name="Stoneware Mug", price=Decimal("7.50"), stock=5)
        CouponFactory(code="WINTER15", discount=15)
        # 2 × 19.90 + 7.50 = 47.30; 15 % of it is 7.095, half up 7.10; 40.20 is charged.
        subtotal, discount, total = Decimal("47.30"), Decimal("7.10"), Decimal("40.20")

        add_to_cart(page, live_server, lamp, 2)
        add_to_cart(page, live_server, mug, 1)
        expect(page.locator("tr.total")).to_contain_text(f"${subtotal}")
        page.locator("form.coupon-apply [name=code]").fill(" winter15 ")  # as a shopper types it
        page.locator("form.coupon-apply").get_by_role("button", name="Apply").click()
        expect(page.locator(".coupon-applied .coupon-code")).to_have_text("WINTER15")
        expect(page.locator("tr.subtotal")).to_contain_text(f"${subtotal}")
        expect(page.locator("tr.discount")).to_contain_text(f"−${discount}")
        expect(page.locator("tr.total")).to_contain_text(f"${total}")
        screenshot("coupon-01-cart-with-coupon")

        page.get_by_role("link", name="Checkout").click()
        page.wait_for_url("**/orders/create/")
        expect(page.locator(".total").last).to_contain_text(f"${total}")
        for field, value in CUSTOMER.items():
            page.locator(f"form.order-form [name={field}]").fill(value)
        page.get_by_role("button", name="Place order").click()
        page.wait_for_url("**/payment/process/?order=*")
        order = Order.objects.get(id=int(page.url.rsplit("=", 1)[1]))
        expect(page.locator(".order-summary .discount")).to_contain_text(f"−${discount}")
        expect(page.locator(".order-summary .total")).to_have_text(f"Total: ${total}")
        expect(page.locator("#pay-button")).to_have_text(f"Pay ${total} USD")
        screenshot("coupon-02-payment")

        pay(page, VISA)
        page.wait_for_url("**/payment/completed/?order=*")
        expect(page.locator(".payment-status")).to_contain_text("Your order is paid")
        screenshot("coupon-03-paid")

        # The webhook, not the test, marks the order paid; the invoice follows from the worker.
        wait_for(lambda: Order.objects.filter(id=order.id, paid=True).exists(),
                 timeout=WEBHOOK_ARRIVAL_SECONDS, what=f"order {order.id} paid by the webhook")
        worker.wait_until_ready()
        # The confirmation (on checkout) and the invoice (once paid), in either order.
        messages = wait_for_emails(mail_dir, count=2, workers=(worker,),
                                   timeout=EMAIL_ARRIVAL_SECONDS + WEBHOOK_ARRIVAL_SECONDS)
        invoices = [m for m in messages if any(
            part.get_content_type() == "application/pdf" for part in m.walk())]
        assert len(invoices) == 1, [m["Subject"] for m in messages]
        assert invoices[0]["To"] == CUSTOMER["email"]
        (attachment,) = [p for p in invoices[0].walk() if p.get_content_type() == "application/pdf"]
        assert attachment.get_filename() == f"invoice_{order.id}.pdf"
        text = pdf_text(attachment.get_payload(decode=True))

        order.refresh_from_db()
        intent = stripe_client().v1.payment_intents.retrieve(order.stripe_id)
        assert f"Invoice no. {order.id}" in text
        assert "PAID" in text
        assert re.search(rf"^Subtotal {subtotal} USD$", text, re.MULTILINE), text
        assert re.search(rf"^Discount \(WINTER15, 15%\) −{discount} USD$", text, re.MULTILINE), text
        assert re.search(rf"^Total {total} USD$", text, re.MULTILINE), text
        assert order.get_total_cost() == total
        assert StripeEvent.objects.filter(order_id=order.id, type="payment_intent.succeeded").count() == 1
        assert (intent.status, intent.amount, intent.currency) == (
            "succeeded", to_minor_units(total, "usd"), "usd")
