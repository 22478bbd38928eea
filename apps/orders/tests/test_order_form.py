"""The checkout form: a blank one rendered once per process, against the form templates."""

from decimal import Decimal
from unittest import mock

import pytest
from django import forms
from django.urls import reverse

from apps.cart.tests.test_cart import add
from apps.orders.forms import OrderCreateForm
from apps.orders.shown import ShownCheckout, ShownLine, shown_unsign
from apps.orders.tests.checkout import hidden_fields
from apps.shop.tests.factories import ProductFactory

SHOWN = ShownCheckout((ShownLine(7, 'Lamp <b>"big"</b> & co', 2, Decimal("12.50")),))


def rendered_afresh(form: OrderCreateForm) -> str:
    """What the form templates make of this form, without the per-process copy."""
    return forms.Form.as_div(form)


def shown_form(**kwargs) -> OrderCreateForm:
    form = OrderCreateForm(**kwargs)
    form.show(SHOWN)
    return form


class TestBlankCheckoutForm:
    def test_renders_as_the_form_templates_do(self):
        # A signed value is the same in both renders only within one second (it holds a time).
        with mock.patch("apps.orders.forms.shown_sign", return_value="signed:value"):
            assert shown_form().as_div() == rendered_afresh(shown_form())

    def test_the_signed_value_is_escaped_as_the_widget_escapes_it(self):
        with mock.patch("apps.orders.forms.shown_sign", return_value='a"b<c>&d'):
            html = shown_form().as_div()
            assert html == rendered_afresh(shown_form())
        assert 'value="a&quot;b&lt;c&gt;&amp;d"' in html

    def test_carries_what_this_page_shows_signed(self):
        assert hidden_fields(shown_form().as_div())["shown"] != ""
        assert shown_unsign(hidden_fields(shown_form().as_div())["shown"]) == SHOWN

    def test_each_page_gets_its_own_signed_lines(self):
        other = ShownCheckout((ShownLine(8, "Mug", 1, Decimal("3.00")),))
        form = OrderCreateForm()
        form.show(other)
        assert shown_unsign(hidden_fields(form.as_div())["shown"]) == other
        assert shown_unsign(hidden_fields(shown_form().as_div())["shown"]) == SHOWN

    def test_is_safe_html_for_the_template(self):
        assert hasattr(shown_form().as_div(), "__html__")


class TestCheckoutFormRenderedAfresh:
    def test_a_posted_form_shows_its_values_and_errors(self):
        form = shown_form(data={"first_name": 'Ann "A" <x>', "email": "not-an-address"})
        form.is_valid()
        with mock.patch("apps.orders.forms.shown_sign", return_value="signed:value"):
            html = form.as_div()
            assert html == rendered_afresh(form)
        assert 'value="Ann &quot;A&quot; &lt;x&gt;"' in html and "errorlist" in html

    def test_a_form_with_initial_values_shows_them(self):
        html = shown_form(initial={"city": "Lyon"}).as_div()
        assert 'name="city" value="Lyon"' in html

    def test_a_form_showing_nothing_has_no_signed_value(self):
        form = OrderCreateForm()
        assert form.as_div() == rendered_afresh(form)
        assert hidden_fields(form.as_div())["shown"] == ""

    def test_a_prefixed_form_keeps_its_prefix(self):
        assert 'name="billing-city"' in shown_form(prefix="billing").as_div()


@pytest.mark.django_db
class TestCheckoutPage:
    def test_the_page_posts_back_the_lines_it_lists(self, client):
        lamp = ProductFactory(name="Desk <lamp>", price=Decimal("12.50"))
        add(client, lamp, 3)

        page = client.get(reverse("orders:order_create"))

        assert shown_unsign(hidden_fields(page)["shown"]) == ShownCheckout(
            (ShownLine(lamp.id, "Desk <lamp>", 3, Decimal("12.50")),))
        assert "Desk &lt;lamp&gt;" in page.content.decode()
        assert page.content.decode().count('name="csrfmiddlewaretoken"') == 1
