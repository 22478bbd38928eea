"""A shopper in a real browser: list → category → product → cart → checkout → payment page → e-mail.

The live server runs in a thread of this process and publishes the confirmation to an
embedded broker that a real `celery worker` subprocess drains, so the e-mail at the end has
gone the whole way a real one goes. Each step leaves a screenshot in test-artifacts/browser/.
"""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from apps.orders.models import Order
from apps.orders.tests.factories import CUSTOMER
from apps.shop.models import Category, Product
from devtools.workers import wait_for_emails

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MISTYPED_EMAIL = "ada.lovelace.example.com"


def fill_checkout(page, customer: dict) -> None:
    for field, value in customer.items():
        page.locator(f"form.order-form [name={field}]").fill(value)


class TestShopperJourney:
    def test_shopper_buys_from_a_category_and_gets_the_confirmation_email(
        self, page, live_server, screenshot, embedded_broker_worker, mail_dir, localstripe
    ):
        call_command("seed_catalog", products=12, stdout=StringIO())

        page.goto(live_server.url + "/")
        expect(page.get_by_role("heading", name="Products", level=1)).to_be_visible()
        expect(page.locator(".product-card")).to_have_count(12)
        screenshot("01-product-list")

        category = Category.objects.filter(products__isnull=False).order_by("name_en").first()
        page.get_by_role("navigation", name="Categories").get_by_role("link", name=category.name).click()
        expect(page.get_by_role("heading", name=category.name, level=1)).to_be_visible()
        expect(page.locator(".product-card")).to_have_count(category.products.count())
        screenshot("02-category")

        page.locator(".product-card .product-name").first.click()
        page.wait_for_url(re.compile(r"/\d+/[-\w]+/$"))
        product_id = int(page.url.rstrip("/").split("/")[-2])
        product = Product.objects.get(pk=product_id, category=category)
        stock_before = product.stock
        expect(page.get_by_role("heading", name=product.name, level=1)).to_be_visible()
        page.locator("form.add-to-cart select[name=quantity]").select_option("2")
        screenshot("03-product")

        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_url("**/cart/")
        row_quantity = page.locator("form.update-quantity select[name=quantity]")
        expect(row_quantity).to_have_value("2")
        expect(page.locator("tr.total")).to_contain_text(f"${product.price * 2}")
        screenshot("04-cart")

        row_quantity.select_option("3")
        page.locator("form.update-quantity").get_by_role("button", name="Update").click()
        expect(page.locator("form.update-quantity select[name=quantity]")).to_have_value("3")
        expect(page.locator("tr.total")).to_contain_text(f"${product.price * 3}")
        screenshot("05-cart-updated")

        page.get_by_role("link", name="Checkout").click()
        page.wait_for_url("**/orders/create/")
        expect(page.locator(".order-info")).to_contain_text(f"3 × {product.name}")
        fill_checkout(page, {**CUSTOMER, "email": MISTYPED_EMAIL})
        page.get_by_role("button", name="Place order").click()
        expect(page.locator(".errorlist")).to_contain_text("Enter a valid email address.")
        # What the shopper typed is kept, so only the mistake needs fixing.
        expect(page.locator("[name=first_name]")).to_have_value(CUSTOMER["first_name"])
        assert not Order.objects.exists()
        screenshot("06-checkout-mistake")

        page.locator("[name=email]").fill(CUSTOMER["email"])
        screenshot("07-checkout")
        page.get_by_role("button", name="Place order").click()
        # Checkout leads to the payment page (tests/browser/test_payment_journey.py pays there).
        expect(page.get_by_role("heading", name="Pay for your order", level=1)).to_be_visible()
        order_number = page.locator(".order-number").inner_text()
        expect(page.locator("#card-element input")).to_have_count(5)
        screenshot("08-payment")

        order = Order.objects.get()
        assert order_number == str(order.id)
        assert page.url == f"{live_server.url}/en/payment/process/?order={order.id}"
        assert {field: getattr(order, field) for field in CUSTOMER} == CUSTOMER
        item = order.items.get()
        assert (item.product_id, item.quantity, item.price) == (product.id, 3, product.price)
        assert order.get_total_cost() == product.price * 3 > Decimal(0)
        product.refresh_from_db()
        assert product.stock == stock_before - 3

        worker = embedded_broker_worker
        worker.wait_until_ready()
        messages = wait_for_emails(mail_dir, workers=(worker,))
        assert len(messages) == 1
        assert messages[0]["To"] == CUSTOMER["email"]
        assert messages[0]["Subject"] == f"Your order {order.id} at My Shop"
