"""Pages used as a browser uses them: a form's fields read off the HTML, a checkout through the site."""

from collections.abc import Mapping

import lxml.html
from django.test import Client
from django.urls import reverse

from apps.orders.tests.factories import CUSTOMER
from apps.shop.models import Product

# The checkout form is the page's form with the customer's e-mail field.
CHECKOUT_FORM = '//form[.//input[@name="email"]]'


def form_fields(response, form_xpath: str) -> dict[str, str | list[str]]:
    """What submitting the page's form unchanged would send: hidden inputs, checked boxes, ..."""
    assert response.status_code == 200, response.status_code
    (form,) = lxml.html.fromstring(response.content.decode()).xpath(form_xpath)
    fields: dict[str, list[str]] = {}
    for name, value in form.form_values():
        fields.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}


def checkout(client: Client, quantities: Mapping[Product, int]):
    """Fill the cart and place the order through the site's URLs; returns the checkout's response."""
    for product, quantity in quantities.items():
        client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": quantity, "override": True})
    page = client.get(reverse("orders:order_create"))
    return client.post(reverse("orders:order_create"), {**form_fields(page, CHECKOUT_FORM), **CUSTOMER})


def placed_an_order(response) -> bool:
    return response.status_code == 302 and "/en/payment/process/?order=" in response["Location"]
