"""The Content-Security-Policy in Chromium: no page of a shopper's or a clerk's visit breaks it.

The browser reports every resource, inline script or style the header refuses as a
`securitypolicyviolation` event; the test listens on every page and expects none, while
the pages still render what they load (the stylesheet, the product image, the admin's scripts).
"""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory
from tests.security.test_content_security_policy import GIF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "staff-password-1"
# Runs before any script of the page, whatever the policy says of scripts.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def product():
    return ProductFactory(name="Walnut Desk Lamp", price=Decimal("19.90"), stock=5,
                          image=SimpleUploadedFile("lamp.gif", GIF, content_type="image/gif"))


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_a_shopper_and_a_clerk_meet_no_refused_resource(
    page, live_server, product, django_user_model, localstripe
):
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    seen = {}

    def visit(name: str) -> None:
        page.wait_for_load_state("load")
        seen[name] = violations(page)

    page.goto(live_server.url + "/")
    # The stylesheet applied, and the product image loaded from the media URL.
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).display") != "inline"
    expect(page.locator(".product-card img")).to_have_js_property("complete", True)
    assert page.evaluate("document.querySelector('.product-card img').naturalWidth") == 1
    visit("list")
    page.get_by_role("link", name="Walnut Desk Lamp").first.click()
    visit("detail")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    visit("cart")
    page.get_by_role("link", name="Checkout").click()
    visit("checkout")
    for field, value in CUSTOMER.items():
        page.locator(f"#id_{field}").fill(value)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url("**/payment/process/**")
    # Stripe.js (localstripe's) loaded and drew the card element.
    expect(page.locator("#card-element input")).to_have_count(5)
    visit("payment")
    page.goto(f"{live_server.url}/en/orders/created/{page.url.rsplit('=', 1)[1]}/")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    visit("thank-you")

    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    page.goto(live_server.url + "/admin/login/")
    page.locator("#id_username").fill("staff")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    visit("admin index")
    page.goto(f"{live_server.url}/admin/shop/product/{product.id}/change/")
    expect(page.get_by_role("heading", name="Change product")).to_be_visible()
    # The admin's own scripts ran (they draw the date and related-object widgets' links).
    assert page.evaluate("typeof window.django") == "object"
    visit("admin product")
    page.goto(f"{live_server.url}/admin/shop/product/add/")
    # prepopulate.js fills the slug from the name: a script that must run under the policy.
    page.locator("#id_name_en").press_sequentially("Oak Stool")
    expect(page.locator("#id_slug_en")).to_have_value("oak-stool")
    visit("admin add product")
    page.goto(f"{live_server.url}/admin/orders/order/")
    visit("admin orders")

    assert seen == {name: [] for name in seen}
    # The policy is in force and the listener hears it: an inline script is refused, reported.
    page.evaluate("() => { const s = document.createElement('script'); "
                  "s.textContent = 'window.__ran = true'; document.body.append(s); }")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert violations(page)[0].startswith("script-src-elem inline")
