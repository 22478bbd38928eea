"""Factories for orders and their items, with customer fields like a real checkout's."""

import factory

from apps.orders.models import Order, OrderItem
from apps.shop.tests.factories import ProductFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    # example.com/.org/.net only: a test that sends mail never addresses a real person.
    email = factory.Faker("safe_email")
    address = factory.Faker("street_address")
    postal_code = factory.Faker("postcode")
    city = factory.Faker("city")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    # An order item records what the product cost when it was bought.
    price = factory.LazyAttribute(lambda o: o.product.price)
    quantity = 1


# The six checkout fields, as a shopper types them into the form.
CUSTOMER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada.lovelace@example.com",
    "address": "12 St James's Square",
    "postal_code": "SW1Y 4JH",
    "city": "London",
}
