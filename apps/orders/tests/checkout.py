"""Submitting checkout as a browser does: the page's hidden fields, then the POST."""

from html.parser import HTMLParser

from django.test import Client
from django.urls import reverse

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
