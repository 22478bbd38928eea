"""An order remembers the language it was placed in, and its confirmation e-mail is written in it,
whatever language the worker that sends it has active."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertInHTML

from apps.coupons.tests.factories import CouponFactory
from apps.orders import services
from apps.orders.models import Order
from apps.orders.tasks import order_created
from apps.orders.tests.checkout import hidden_fields, placed_order_id
from apps.orders.tests.factories import CUSTOMER, OrderFactory, OrderItemFactory
from apps.shop.tests.factories import ProductFactory

KOREAN_SHOPPER = {
    "first_name": "민준",
    "last_name": "김",
    "email": "minjun.kim@example.com",
    "address": "테헤란로 152",
    "postal_code": "06236",
    "city": "서울특별시",
}


def order_through_the_shop(accept_language: str | None, customer: dict = CUSTOMER) -> Order:
    """A shopper whose browser asks for `accept_language` (None: says nothing) puts two lamps in
    the cart and checks out, as in a browser. The URLs are the ones the shop shows in that
    language (under /ko/ once the shop's URLs carry the language)."""
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    shopper = Client(**headers)
    lamp = ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=5)
    with translation.override(translation.get_language_from_request(RequestFactory(**headers).get("/"))):
        add_url = reverse("cart:cart_add", args=[lamp.id])
        create_url = reverse("orders:order_create")
    assert shopper.post(add_url, {"quantity": 2, "override": "False"}).status_code == 302
    form = shopper.get(create_url)
    assert form.status_code == 200
    response = shopper.post(create_url, {**hidden_fields(form), **customer})
    order_id = placed_order_id(response)
    assert order_id is not None, (response.status_code, response.get("Location"))
    return Order.objects.get(id=order_id)


def order_in(language: str, **fields) -> Order:
    """An order of two lamps at 19.90 placed in `language`, made with the factories."""
    order = OrderFactory(**{**CUSTOMER, **fields}, language=language)
    lamp = ProductFactory(name="Desk lamp", price=Decimal("19.90"))
    OrderItemFactory(order=order, product=lamp, quantity=2)
    return order


@pytest.mark.django_db
class TestOrderLanguageAtCheckout:
    def test_an_order_placed_in_korean_remembers_korean(self):
        assert order_through_the_shop("ko", KOREAN_SHOPPER).language == "ko"

    def test_an_order_placed_by_a_browser_preferring_korean_remembers_korean(self):
        assert order_through_the_shop("ko-KR,ko;q=0.9,en-US;q=0.8").language == "ko"

    def test_an_order_placed_without_a_preference_is_english(self):
        assert order_through_the_shop(None).language == "en"

    def test_a_language_the_shop_does_not_speak_gives_an_english_order(self):
        assert order_through_the_shop("fr-FR,fr;q=0.9").language == "en"

    @pytest.mark.parametrize(
        ("asked", "stored"), [("ko", "ko"), ("ko-kr", "ko"), ("en-us", "en"), ("fr", "en"), ("", "en")]
    )
    def test_the_service_stores_one_of_the_shops_languages(self, asked, stored):
        assert services.order_language(asked) == stored


@pytest.mark.django_db
class TestOrderLanguageInTheAdmin:
    def test_the_change_page_shows_the_language_and_does_not_edit_it(self, admin_client):
        order = order_in("ko")

        page = admin_client.get(reverse("admin:orders_order_change", args=[order.id]))

        assert "language" not in page.context["adminform"].form.fields
        assertContains(page, '<div class="readonly">한국어</div>', html=True)

    def test_the_order_list_filters_by_language(self, admin_client):
        korean, english = order_in("ko"), order_in("en")

        page = admin_client.get(reverse("admin:orders_order_changelist"), {"language__exact": "ko"})

        assert [order.id for order in page.context["cl"].result_list] == [korean.id]
        assert english.id not in [order.id for order in page.context["cl"].result_list]


@pytest.mark.django_db
class TestConfirmationInTheOrdersLanguage:
    def test_a_korean_order_gets_its_confirmation_in_korean_from_an_english_worker(self, mailoutbox):
        order = order_through_the_shop("ko", KOREAN_SHOPPER)

        with translation.override("en"):
            assert order_created.apply(args=[order.id]).successful()

        [message] = mailoutbox
        assert message.subject == f"My Shop 주문 {order.id} 확인"
        assert message.body.startswith(
            f"민준 님, 안녕하세요.\n\n주문해 주셔서 감사합니다. 주문 번호는 {order.id}입니다.\n")
        assert "2 x Desk lamp  $39.80\n" in message.body
        assert "합계: $39.80" in message.body
        assert "배송지:\n민준 김\n테헤란로 152\n06236 서울특별시\n" in message.body
        html = message.alternatives[0][0]
        assert '<html lang="ko">' in html
        assertInHTML(f"<p>주문해 주셔서 감사합니다. 주문 번호는 <strong>{order.id}</strong>입니다.</p>", html)
        assertInHTML('<td colspan="2"><strong>합계</strong></td>', html)
        assert "Total" not in html and "deliver" not in html

    def test_an_english_order_stays_english_when_the_worker_speaks_korean(self, mailoutbox):
        order = order_in("en")

        with translation.override("ko"):
            assert order_created.apply(args=[order.id]).successful()
            assert translation.get_language() == "ko"  # the worker's own language, given back

        [message] = mailoutbox
        assert message.subject == f"Your order {order.id} at My Shop"
        assert "Total: $39.80" in message.body and "We will deliver to:" in message.body
        assert "합계" not in message.body and "합계" not in message.alternatives[0][0]

    def test_a_coupon_shows_korean_subtotal_and_discount(self, mailoutbox):
        order = order_in("ko", coupon=CouponFactory(code="SAVE15", discount=15), discount=15)

        with translation.override("en"):
            services.order_confirmation_send(order_id=order.id)

        body = mailoutbox[0].body
        assert "소계: $39.80\n할인 (SAVE15), 15%: -$5.97\n합계: $33.83" in body

    def test_the_language_costs_the_send_no_query(self):
        # The language is a column of the order: a Korean e-mail costs what an English one does.
        counts = {}
        for language in ("en", "ko"):
            order = order_in(language)
            with CaptureQueriesContext(connection) as captured:
                assert services.order_confirmation_send(order_id=order.id)
            counts[language] = len(captured)
        assert counts["ko"] == counts["en"]
