"""The payment pages in Korean: the card form and the words its script writes, the outcome of a
declined charge, a cancelled payment and an order that cannot be paid any more."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from apps.orders.models import Order, OrderStatus
from apps.orders.tests.checkout import place_order
from apps.payment.intents import PaymentIntentState
from apps.payment.tests.cards import (
    DECLINED_AT_CHARGE,
    card_into_setup_intent,
    page_data,
    setup_client_secret,
)
from apps.shop.tests.factories import ProductFactory
from tests.support.korean import assert_korean_page, korean_client

pytestmark = pytest.mark.django_db

RECORDED = Path(settings.BASE_DIR) / "test_data" / "stripe"


@pytest.fixture
def shopper():
    """A Korean session that placed an order of two desk lamps (39.80), not yet on the payment page."""
    lamp = ProductFactory(name="Desk lamp", price=Decimal("19.90"), stock=10)
    client = korean_client()
    client.post(reverse("cart:cart_add", args=[lamp.id]), {"quantity": 2}, follow=True)
    placed = place_order(client)
    assert placed.status_code == 302
    client.order = Order.objects.get(id=int(placed.url.rsplit("?order=", 1)[1]))
    client.payment_url = placed.url
    return client


class TestPaymentPagesInKorean:
    def test_the_card_form_and_what_its_script_writes_are_in_korean(self, shopper, localstripe):
        page = shopper.get(shopper.payment_url)

        assert_korean_page(
            page,
            korean=["주문 결제하기", "주문 번호", "합계: $39.80", "카드", "$39.80 USD 결제하기", "취소"],
            english=["Pay for your order", "Card", "Cancel"],
        )
        assert page_data(page, "card-error") == "카드를 사용할 수 없습니다. 다시 시도해 주세요."
        assert page_data(page, "locale") == "ko"  # Stripe.js writes its own messages in Korean

    def test_a_declined_charge_is_said_in_korean(self, shopper, localstripe):
        page = shopper.get(shopper.payment_url)
        payment_method = card_into_setup_intent(
            localstripe, setup_client_secret(shopper, page), DECLINED_AT_CHARGE
        )
        declined = shopper.post(shopper.payment_url, {"payment_method": payment_method})

        completed = shopper.get(declined.url)

        assert_korean_page(
            completed,
            korean=[
                "결제 실패",
                "결제에 실패했습니다: 카드가 거절되었습니다. 결제된 금액은 없습니다.",
                "다른 카드로 다시 시도",
            ],
            english=["Payment failed", "declined", "Try again"],
        )

    def test_the_canceled_page_is_in_korean(self, shopper):
        page = shopper.get(f"{reverse('payment:canceled')}?order={shopper.order.id}")

        assert_korean_page(
            page,
            korean=["결제 취소", "결제된 금액은 없습니다.", "(UTC)까지 보관되며", "결제로 돌아가기"],
            english=["Payment cancelled", "Nothing was charged", "Return to payment"],
        )

    @pytest.mark.parametrize(
        ("status", "said"),
        [
            (OrderStatus.PAID, "결제가 완료된 주문입니다. 감사합니다!"),
            (OrderStatus.CANCELLED, "취소되어 더 이상 결제할 수 없는 주문입니다."),
            (OrderStatus.REFUNDED, "환불된 주문입니다."),
        ],
    )
    def test_an_order_that_cannot_be_paid_says_why_in_korean(self, shopper, status, said):
        Order.objects.filter(id=shopper.order.id).update(status=status)

        page = shopper.get(shopper.payment_url)

        assert_korean_page(page, korean=[said, "쇼핑 계속하기"], english=["This order", "Continue shopping"])


class TestPaymentFailureMessages:
    def test_a_decline_is_said_in_the_pages_language_and_in_stripes_words_in_english(self):
        declined = json.loads((RECORDED / "payment_intent_declined.json").read_text())

        with translation.override("ko"):
            korean = PaymentIntentState.of(declined).error_message
        with translation.override("en"):
            english = PaymentIntentState.of(declined).error_message

        assert (korean, english) == ("카드가 거절되었습니다.", declined["last_payment_error"]["message"])

    def test_a_reason_the_shop_has_no_words_for_keeps_stripes_message(self):
        declined = json.loads((RECORDED / "payment_intent_declined.json").read_text())
        declined["last_payment_error"] = {"code": "something_new", "message": "Stripe's own words."}

        with translation.override("ko"):
            assert PaymentIntentState.of(declined).error_message == "Stripe's own words."
