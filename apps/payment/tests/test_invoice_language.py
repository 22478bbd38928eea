"""The invoice e-mail, its PDF, the staff download and the late-payment refund e-mail are written in
the order's language: labels, dates and number separators; the currency stays the shop's."""

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from apps.coupons.tests.factories import CouponFactory
from apps.orders import selectors
from apps.orders.models import Order, OrderStatus
from apps.orders.tests.test_order_language import KOREAN_SHOPPER, order_through_the_shop
from apps.payment import invoice
from apps.payment.invoice import format_money
from apps.payment.tasks import late_payment_refunded_email, payment_completed

KOREAN_LABELS = ("결제 완료", "청구 대상", "상품 가격 수량 금액")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def paid(order: Order, **fields) -> Order:
    """The order as the webhook leaves it: paid, its invoice due; created on a known day."""
    Order.objects.filter(id=order.id).update(
        status=OrderStatus.PAID, paid=True, created=datetime(2026, 3, 9, 12, tzinfo=UTC), **fields
    )
    return selectors.order_with_items(order_id=order.id)


@pytest.fixture
def korean_order(db) -> Order:
    """Placed through the shop by a browser asking for Korean, and paid: two lamps, 39.80."""
    return paid(order_through_the_shop("ko", KOREAN_SHOPPER))


@pytest.fixture
def english_order(db) -> Order:
    return paid(order_through_the_shop("en"))


@pytest.mark.django_db
class TestInvoiceEmailInTheOrdersLanguage:
    def test_a_korean_order_gets_a_korean_invoice_from_an_english_worker(self, korean_order, mailoutbox):
        with translation.override("en"):
            assert payment_completed.apply(args=[korean_order.id]).successful()

        [message] = mailoutbox
        assert message.subject == f"My Shop - 청구서 번호 {korean_order.id}"
        assert message.body.startswith("민준 님, 안녕하세요.\n\n결제해 주셔서 감사합니다. "
                                       f"주문 {korean_order.id}의 청구서를 첨부해 드립니다.\n")
        assert "결제 금액: 39.80 USD" in message.body
        [(_, content, _)] = message.attachments
        text = pdf_text(content)
        assert all(label in text for label in KOREAN_LABELS), text
        assert f"청구서 번호 {korean_order.id}" in text
        assert "주문일: 2026년 3월 9일" in text
        assert "민준 김" in text and "테헤란로 152" in text
        assert re.search(r"^합계 39\.80 USD$", text, re.MULTILINE), text
        assert not re.search(r"Invoice|Bill to|Total|PAID|Date", text), text

    def test_an_english_order_stays_english_when_the_worker_speaks_korean(self, english_order, mailoutbox):
        with translation.override("ko"):
            assert payment_completed.apply(args=[english_order.id]).successful()
            assert translation.get_language() == "ko"

        [message] = mailoutbox
        assert message.subject == f"My Shop - Invoice no. {english_order.id}"
        assert "Total paid: 39.80 USD" in message.body
        text = pdf_text(message.attachments[0][1])
        assert "Bill to" in text and "Date: March 9, 2026" in text and "PAID" in text
        assert not any(label in text for label in KOREAN_LABELS), text


@pytest.mark.django_db
class TestInvoicePdfInTheOrdersLanguage:
    def test_a_coupon_gives_korean_subtotal_and_discount_lines(self, korean_order):
        order = paid(korean_order, coupon=CouponFactory(code="WINTER15", discount=15), discount=15)

        with translation.override("en"):
            text = pdf_text(invoice.order_invoice_pdf(order))

        assert re.search(r"^소계 39\.80 USD$", text, re.MULTILINE), text
        assert re.search(r"^할인 \(WINTER15, 15%\) −5\.97 USD$", text, re.MULTILINE), text
        assert re.search(r"^합계 33\.83 USD$", text, re.MULTILINE), text

    def test_an_unpaid_korean_order_says_payment_is_pending(self, korean_order):
        korean_order.paid = False
        with translation.override("en"):
            assert "결제 대기" in pdf_text(invoice.order_invoice_pdf(korean_order))

    def test_the_currency_stays_the_shops_in_korean(self, korean_order, settings):
        settings.SHOP_CURRENCY = "krw"
        with translation.override("en"):
            text = pdf_text(invoice.order_invoice_pdf(korean_order))
        assert re.search(r"^합계 40 KRW$", text, re.MULTILINE), text

    @pytest.mark.parametrize("language", ["en", "ko"])
    def test_amounts_keep_their_grouping_and_decimals_in_both_languages(self, language):
        with translation.override(language):
            assert format_money(Decimal("1234567.5"), "usd") == "1,234,567.50 USD"
            assert format_money(Decimal("-15000"), "krw") == "−15,000 KRW"


@pytest.mark.django_db
class TestStaffDownloadInTheOrdersLanguage:
    def test_staff_reading_english_get_a_korean_orders_invoice_in_korean(self, admin_client, korean_order):
        url = reverse("orders:admin_order_pdf", args=[korean_order.id])
        response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en")

        assert response.status_code == 200
        text = pdf_text(response.content)
        assert all(label in text for label in KOREAN_LABELS), text

    def test_staff_reading_korean_get_an_english_orders_invoice_in_english(self, admin_client, english_order):
        url = reverse("orders:admin_order_pdf", args=[english_order.id])
        response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ko")

        assert response.status_code == 200
        text = pdf_text(response.content)
        assert "Bill to" in text and "Product Price Quantity Cost" in text
        assert not any(label in text for label in KOREAN_LABELS), text


@pytest.mark.django_db
class TestLatePaymentRefundEmailInTheOrdersLanguage:
    @pytest.mark.parametrize(("language", "worker"), [("ko", "en"), ("en", "ko")])
    def test_is_written_in_the_orders_language_not_the_workers(self, language, worker, mailoutbox):
        order = order_through_the_shop(language, KOREAN_SHOPPER)
        Order.objects.filter(id=order.id).update(status=OrderStatus.REFUNDED, stripe_refund_id="re_123")

        with translation.override(worker):
            assert late_payment_refunded_email.apply(args=[order.id]).get() is True

        [message] = mailoutbox
        if language == "ko":
            assert message.subject == f"My Shop 주문 {order.id}의 결제 금액이 환불되었습니다"
            assert "결제 금액 전액을 환불해 드렸습니다(re_123)" in message.body
            assert "refund" not in message.body
        else:
            assert message.subject == f"Your payment for order {order.id} at My Shop was refunded"
            assert "we refunded your payment in full (re_123)" in message.body
            assert "환불" not in message.body
