"""The notices (Django's messages) a page shows, as the shopper reads them: a product's name or a
coupon code inside one is marked up (shop_project/marks.py), and the markup is not what they read."""

from html import unescape

from django.utils.html import strip_tags


def page_messages(response) -> list[str]:
    return [unescape(strip_tags(str(message))) for message in response.context["messages"]]
