"""The Content-Security-Policy header: on every page, and allowing exactly what the pages load.

Each page is fetched as its visitor sees it and parsed: every script, stylesheet, image, frame
and form target must be allowed by the header the page came with, and no page may carry an
inline script, an inline style or an event-handler attribute (the policy refuses them).
"""

from html.parser import HTMLParser
from importlib import import_module
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.orders.tests.checkout import hidden_fields, place_order
from apps.orders.tests.factories import CUSTOMER
from apps.shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

# The whole policy under the test settings, where static files and images share the shop's
# origin (production names the buckets' domains: tests/test_production_settings.py).
# Stripe.js is localstripe's stand-in there, served with its API from one origin.
LOCALSTRIPE = "http://127.0.0.1:8420"
EXPECTED_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'", LOCALSTRIPE],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "connect-src": ["'self'", LOCALSTRIPE],
    "frame-src": [LOCALSTRIPE],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}
# A one-pixel GIF, for a product that has an image of its own.
GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
       b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def parse_policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


class PageResources(HTMLParser):
    """(directive, url) of what a page loads or submits to, and what a policy without
    'unsafe-inline' refuses outright."""

    def __init__(self):
        super().__init__()
        self.loads: list[tuple[str, str]] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "script":
            if attrs.get("src"):
                self.loads.append(("script-src", attrs["src"]))
            elif attrs.get("type") not in ("application/json",):
                self.inline.append("<script> without src")
        elif tag == "style":
            self.inline.append("<style>")
        elif tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            self.loads.append(("style-src", attrs["href"]))
        elif tag == "link" and "icon" in (attrs.get("rel") or "").split():
            self.loads.append(("img-src", attrs["href"]))
        elif tag == "img":
            self.loads.append(("img-src", attrs["src"]))
        elif tag in ("iframe", "frame"):
            self.loads.append(("frame-src", attrs.get("src", "")))
        elif tag == "form":
            self.loads.append(("form-action", attrs.get("action") or ""))
        elif tag == "a" and (attrs.get("href") or "").lower().startswith("javascript:"):
            self.inline.append("<a href=javascript:...>")


def allowed(url: str, sources: list[str]) -> bool:
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return "'self'" in sources  # a path on the shop's own origin
    return f"{parts.scheme}://{parts.netloc}" in sources


def refused_by_policy(response) -> list[str]:
    """What the page would try to load, or carry inline, that its own header refuses."""
    assert response.status_code == 200, response.status_code
    policy = parse_policy(response["Content-Security-Policy"])
    page = PageResources()
    page.feed(response.content.decode())
    refused = [f"{directive} {url}" for directive, url in page.loads
               if not allowed(url, policy.get(directive, policy["default-src"]))]
    return refused + page.inline


def loaded(response) -> set[str]:
    page = PageResources()
    page.feed(response.content.decode())
    return {directive for directive, _ in page.loads}


@pytest.fixture
def product():
    return ProductFactory(stock=10, image=SimpleUploadedFile("pixel.gif", GIF, content_type="image/gif"))


@pytest.fixture
def shopper(product) -> Client:
    """A visitor whose session cart holds two of the product."""
    client = Client()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[settings.CART_SESSION_ID] = {"token": None, "items": {str(product.id): 2}}
    store.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = store.session_key
    return client


@pytest.fixture
def staff() -> Client:
    client = Client()
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "not-a-password")
    client.force_login(boss)
    return client


def shop_pages(client: Client, product) -> dict[str, object]:
    pages = {
        "list": client.get("/en/"),
        "category": client.get(product.category.get_absolute_url()),
        "detail": client.get(product.get_absolute_url()),
        "detail without an image": client.get(ProductFactory(category=product.category).get_absolute_url()),
    }
    return pages


def test_every_shop_page_says_the_policy_and_loads_only_what_it_allows(shopper, product):
    pages = shop_pages(shopper, product)
    pages["cart"] = shopper.get("/en/cart/")
    pages["checkout"] = shopper.get("/en/orders/create/")
    placed = shopper.post("/en/orders/create/", {**hidden_fields(pages["checkout"]), **CUSTOMER})
    assert placed.status_code == 302
    pages["thank-you"] = shopper.get(f"/en/orders/created/{placed.url.rsplit('?order=', 1)[1]}/")
    pages["admin login"] = Client().get("/admin/login/")

    assert {name: parse_policy(page["Content-Security-Policy"]) for name, page in pages.items()} == {
        name: EXPECTED_POLICY for name in pages}
    assert {name: refused_by_policy(page) for name, page in pages.items()} == {name: [] for name in pages}
    # What the policy allows is what the pages use: images (the product's and the placeholder),
    # the stylesheet, forms to the shop, the admin's scripts.
    used = set().union(*(loaded(page) for page in pages.values()))
    assert used == {"img-src", "style-src", "form-action", "script-src"}


def test_the_payment_page_loads_stripe_js_and_the_card_script_as_the_policy_allows(shopper, localstripe):
    placed = place_order(shopper)

    page = shopper.get(placed.url)

    assert "payment/process.html" in [t.name for t in page.templates]
    policy = parse_policy(page["Content-Security-Policy"])
    assert {name: policy[name] for name in ("script-src", "connect-src", "frame-src")} == {
        "script-src": ["'self'", localstripe.api_base],
        "connect-src": ["'self'", localstripe.api_base],
        "frame-src": [localstripe.api_base],
    }
    assert refused_by_policy(page) == []
    scripts = [url for directive, url in _loads(page) if directive == "script-src"]
    assert scripts[0] == localstripe.js_url and scripts[1].endswith("/payment/js/process.js")


def _loads(response) -> list[tuple[str, str]]:
    page = PageResources()
    page.feed(response.content.decode())
    return page.loads


def test_pages_cached_for_visitors_without_a_session_keep_the_header(product):
    first, cached = Client().get(product.get_absolute_url()), Client().get(product.get_absolute_url())

    assert parse_policy(first["Content-Security-Policy"]) == EXPECTED_POLICY
    assert parse_policy(cached["Content-Security-Policy"]) == EXPECTED_POLICY


@pytest.mark.parametrize("page", [
    "/admin/", "/admin/shop/product/", "/admin/shop/product/add/", "/admin/shop/product/{product}/change/",
    "/admin/orders/order/", "/admin/orders/order/{order}/change/", "/admin/orders/order/{order}/detail/",
    "/admin/auth/user/", "/admin/axes/accessattempt/",
])
def test_the_admin_pages_load_only_what_the_policy_allows(staff, shopper, product, page):
    placed = place_order(shopper)
    order_id = placed.url.rsplit("?order=", 1)[1]

    response = staff.get(page.format(product=product.id, order=order_id))

    assert parse_policy(response["Content-Security-Policy"]) == EXPECTED_POLICY
    assert refused_by_policy(response) == []


def test_error_pages_carry_the_policy_too():
    response = Client().get("/no/such/page/here/")

    assert response.status_code == 404
    assert parse_policy(response["Content-Security-Policy"]) == EXPECTED_POLICY


@pytest.mark.parametrize(("debug", "header"), [
    ("True", "Content-Security-Policy-Report-Only"), ("False", "Content-Security-Policy"),
])
def test_make_run_reports_the_policy_under_debug_and_enforces_it_otherwise(debug, header):
    """Django's debug pages carry inline styles and scripts; under DEBUG the policy is reported."""
    from tests.test_production_settings import run_python

    script = ("import django; django.setup(); from django.test import Client; "
              "r = Client(HTTP_HOST='127.0.0.1').get('/healthz/'); "
              "print(sorted(h for h in r.headers if h.startswith('Content-Security')))")
    result = run_python(["-c", script], {"DJANGO_SETTINGS_MODULE": "shop_project.settings.local",
                                          "DJANGO_DEBUG": debug})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str([header])
