"""Submitting checkout as a browser does: the page's hidden fields, then the POST."""

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import translation

from apps.orders.tests.factories import CUSTOMER

CREATE_URL = reverse("orders:order_create")


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""


def hidden_fields(page) -> dict[str, str]:
    """The hidden inputs of a rendered page (a response or its text): what a browser posts back."""
    parser = _HiddenInputs()
    parser.feed(page if isinstance(page, str) else page.content.decode())
    return parser.fields


def checkout_form(client: Client) -> dict[str, str]:
    """GET the checkout page and return the hidden fields its form would post."""
    response = client.get(CREATE_URL)
    assert response.status_code == 200, response.status_code
    return hidden_fields(response)


def place_order(client: Client, customer: dict | None = None, **post_kwargs):
    """Show the checkout page, then submit it with `customer` (the six fields), as a shopper does."""
    return client.post(CREATE_URL, {**checkout_form(client), **(customer or CUSTOMER)}, **post_kwargs)


def placed_order_id(response) -> int | None:
    """The id of the order a checkout POST placed (it redirects to the order's payment page), or None."""
    location = urlsplit(response.get("Location", "") if response.status_code == 302 else "")
    try:  # under the prefix of the language the shopper checked out in
        with translation.override(translation.get_language_from_path(location.path)):
            view = resolve(location.path).view_name
    except Resolver404:
        return None
    order_id = parse_qs(location.query).get("order", [""])[0]
    return int(order_id) if view == "payment:process" and order_id.isdigit() else None


def thank_you_url(response) -> str:
    """The thank-you page of the order a checkout POST placed."""
    order_id = placed_order_id(response)
    assert order_id is not None, f"no order was placed: {response.status_code} {response.get('Location')}"
    return reverse("orders:order_created", args=[order_id])
