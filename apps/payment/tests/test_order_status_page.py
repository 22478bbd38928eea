"""The thank-you page says where the order stands."""

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from apps.orders.models import Order
from apps.orders.tests.checkout import place_order, thank_you_url
from apps.payment import services
from apps.shop.tests.factories import ProductFactory


@pytest.mark.django_db
class TestThankYouPageStatus:
    def test_shows_awaiting_payment_with_a_way_to_pay_then_paid(self):
        client = Client()
        client.post(reverse("cart:cart_add", args=[ProductFactory(stock=5).id]), {"quantity": 1})
        thank_you = thank_you_url(place_order(client))

        awaiting = client.get(thank_you)
        assertContains(awaiting, "Status: <strong>Awaiting payment</strong>", html=False)
        order = Order.objects.get()
        assertContains(awaiting, f'href="{reverse("payment:process")}?order={order.id}"')

        payment = services.Payment("pi_status", services.expected_amount(order), "usd")
        services.payment_succeeded(order_id=order.id, payment=payment)
        paid = client.get(thank_you)
        assertContains(paid, "Status: <strong>Paid</strong>", html=False)
        assertNotContains(paid, "Pay for your order")
