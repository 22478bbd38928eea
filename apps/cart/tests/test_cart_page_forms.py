"""The cart page's per-line quantity forms, rendered once per process, against the form itself."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.middleware.csrf import CSRF_TOKEN_LENGTH, _unmask_cipher_token
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from apps.cart.forms import CartAddProductForm
from apps.cart.templatetags.cart_tags import cart_quantity_fields
from apps.shop.tests.factories import ProductFactory

MAX = settings.CART_MAX_QUANTITY_PER_PRODUCT
# What the cart page's template rendered for a line before the fields were kept per process.
FORM_FIELDS = Template("{{ form.quantity }}{{ form.override }}")


def form_fields(quantity) -> str:
    form = CartAddProductForm(initial={"quantity": quantity, "override": True})
    return FORM_FIELDS.render(Context({"form": form}))


class _UpdateForms(HTMLParser):
    """Each update-quantity form of a cart page: its action, selected quantity and hidden inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and "update-quantity" in (attributes.get("class") or ""):
            self._current = {"action": attributes["action"], "selected": [], "hidden": {}}
            self.forms.append(self._current)
        elif self._current is not None and tag == "option" and "selected" in attributes:
            self._current["selected"].append(attributes["value"])
        elif self._current is not None and tag == "input" and attributes.get("type") == "hidden":
            self._current["hidden"][attributes["name"]] = attributes.get("value")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def update_forms(response) -> list[dict]:
    parser = _UpdateForms()
    parser.feed(response.content.decode())
    return parser.forms


def add(client, product, quantity):
    response = client.post(reverse("cart:cart_add", args=[product.id]), {"quantity": quantity})
    assert response.status_code == 302


class TestQuantityFields:
    @pytest.mark.parametrize("quantity", range(1, MAX + 1))
    def test_each_quantity_renders_as_the_form_does(self, quantity):
        rendered = cart_quantity_fields(quantity)
        assert rendered == form_fields(quantity)
        assert re.findall(r'<option value="(\d+)" selected>', rendered) == [str(quantity)]

    def test_a_second_render_is_the_same_html(self):
        assert cart_quantity_fields(3) is cart_quantity_fields(3)

    @pytest.mark.parametrize("quantity", [0, MAX + 1, "2", None])
    def test_a_quantity_outside_the_choices_renders_afresh_as_the_form_does(self, quantity):
        assert cart_quantity_fields(quantity) == form_fields(quantity)

    def test_the_fields_are_not_escaped_again_in_a_template(self):
        html = Template("{% load cart_tags %}{% cart_quantity_fields 2 %}").render(Context())
        assert html.startswith("<select") and "&lt;" not in html


@pytest.mark.django_db
class TestCartPageForms:
    def test_each_line_selects_its_own_quantity(self, client):
        lamp, desk, chair = ProductFactory(), ProductFactory(), ProductFactory()
        add(client, lamp, 2)
        add(client, desk, MAX)
        add(client, chair, 1)

        forms = update_forms(client.get(reverse("cart:cart_detail")))

        assert [(f["action"], f["selected"]) for f in forms] == [
            (reverse("cart:cart_add", args=[lamp.id]), ["2"]),
            (reverse("cart:cart_add", args=[desk.id]), [str(MAX)]),
            (reverse("cart:cart_add", args=[chair.id]), ["1"]),
        ]
        assert all(f["hidden"]["override"] == "True" for f in forms)

    def test_each_form_carries_this_requests_csrf_token_and_updates_the_line(self):
        client = Client(enforce_csrf_checks=True)
        lamp, desk = ProductFactory(), ProductFactory()
        client.get(lamp.get_absolute_url())  # the CSRF cookie, as a browser gets it
        for product in (lamp, desk):
            page = client.get(product.get_absolute_url()).content.decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            client.post(reverse("cart:cart_add", args=[product.id]),
                        {"quantity": 1, "csrfmiddlewaretoken": token})

        forms = update_forms(client.get(reverse("cart:cart_detail")))

        secret = client.cookies[settings.CSRF_COOKIE_NAME].value
        tokens = [f["hidden"]["csrfmiddlewaretoken"] for f in forms]
        assert len(tokens) == 2 and all(len(t) == CSRF_TOKEN_LENGTH for t in tokens)
        assert {_unmask_cipher_token(t) for t in tokens} == {secret}
        response = client.post(forms[1]["action"], {"quantity": 4, "override": "True",
                                                    "csrfmiddlewaretoken": tokens[1]})
        assert response.status_code == 302
        assert client.session[settings.CART_SESSION_ID]["items"][str(desk.id)] == 4

    def test_a_product_name_is_escaped_next_to_its_form(self, client):
        product = ProductFactory(name='<script>alert("x")</script> & Co')
        add(client, product, 3)

        html = client.get(reverse("cart:cart_detail")).content.decode()

        assert "<script>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
        assert [f["selected"] for f in update_forms(client.get(reverse("cart:cart_detail")))] == [["3"]]
