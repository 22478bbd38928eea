"""The PDF invoice: what it says (read back from the PDF), its money, and its embedded font."""

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from apps.coupons.tests.factories import CouponFactory
from apps.orders import selectors
from apps.orders.models import Order
from apps.payment import invoice
from apps.payment.invoice import Invoice, InvoiceItem, InvoiceTotal, format_money, invoice_of, invoice_pdf
from apps.payment.tests.conftest import KOREAN_CUSTOMER

# Each font file is over 700 KB; an invoice uses a few dozen of their thousands of glyphs.
MAX_EMBEDDED_FONT_BYTES = 50_000


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def embedded_fonts(pdf: bytes) -> list[tuple[str, int]]:
    """(font name, bytes of its embedded TrueType file) for each font the PDF's pages use."""
    fonts = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            font_file = descriptor["/FontFile2"].get_object()
            fonts.append((str(descriptor["/FontName"]), len(font_file.get_data())))
    return fonts


def simple_invoice(**changes) -> Invoice:
    values = dict(
        number=7, date=date(2026, 12, 2), customer_name="Иван Петров",
        address_lines=("Тверская 1", "125009 Москва"), email="ivan@example.com",
        items=(InvoiceItem("Tea", Decimal("15000.00"), 2, Decimal("30000.00")),),
        totals=(InvoiceTotal("Total", Decimal("30000.00")),), currency="krw", paid=True,
    )
    return Invoice(**{**values, **changes})


@pytest.mark.django_db
class TestOrderInvoicePdf:
    @pytest.fixture
    def text(self, paid_order):
        order = selectors.order_with_items(order_id=paid_order.id)
        return pdf_text(invoice.order_invoice_pdf(order))

    def test_korean_name_and_address_are_text_in_the_pdf(self, text):
        assert "민준 김" in text
        assert KOREAN_CUSTOMER["address"] in text
        assert "06236 서울특별시" in text

    def test_has_the_shop_number_date_and_paid_mark(self, paid_order):
        Order.objects.filter(id=paid_order.id).update(created=datetime(2026, 3, 9, 12, tzinfo=UTC))
        text = pdf_text(invoice.order_invoice_pdf(selectors.order_with_items(order_id=paid_order.id)))
        assert "My Shop" in text
        assert f"Invoice no. {paid_order.id}" in text
        assert "Date: March 9, 2026" in text  # as English writes dates (DATE_FORMAT)
        assert "PAID" in text

    def test_lists_each_item_with_price_quantity_and_cost(self, text):
        assert "Desk lamp 스탠드 19.90 USD 2 39.80 USD" in text
        assert "Mug 7.50 USD 3 22.50 USD" in text

    def test_total_is_what_the_order_charges(self, text, paid_order):
        assert paid_order.get_total_cost() == Decimal("62.30")
        assert re.search(r"^Total 62\.30 USD$", text, re.MULTILINE), text

    def test_a_coupon_shows_subtotal_discount_and_the_discounted_total(self, paid_order):
        # 62.30 less 15 % (9.345, half up 9.35) = 52.95: the lines the cart and checkout show.
        paid_order.coupon = CouponFactory(code="WINTER15", discount=15)
        paid_order.discount = 15
        paid_order.save()
        text = pdf_text(invoice.order_invoice_pdf(selectors.order_with_items(order_id=paid_order.id)))
        assert re.search(r"^Subtotal 62\.30 USD$", text, re.MULTILINE), text
        assert re.search(r"^Discount \(WINTER15, 15%\) −9\.35 USD$", text, re.MULTILINE), text
        assert re.search(r"^Total 52\.95 USD$", text, re.MULTILINE), text
        assert paid_order.get_total_cost() == Decimal("52.95")

    def test_an_order_not_paid_is_not_marked_paid(self, paid_order):
        paid_order.paid = False
        text = pdf_text(invoice.order_invoice_pdf(paid_order))
        assert "PENDING PAYMENT" in text
        assert "PAID" not in text.replace("PENDING PAYMENT", "")

    def test_totals_follow_the_shop_currency(self, paid_order, settings):
        settings.SHOP_CURRENCY = "krw"
        assert invoice_of(paid_order).totals == (InvoiceTotal("Total", Decimal("62.30")),)
        assert "Total 62 KRW" in pdf_text(invoice.order_invoice_pdf(paid_order))


class TestInvoiceFont:
    def test_both_fonts_are_embedded_as_small_subsets(self):
        pdf = invoice_pdf(simple_invoice(customer_name="김민준 Иван Dvořák"))
        fonts = dict(embedded_fonts(pdf))
        families = {re.sub(r"^/[A-Z]{6}\+", "", name) for name in fonts}
        assert families == {"DejaVuSansBook", "NanumSquare"}, fonts
        assert all(re.fullmatch(r"/[A-Z]{6}\+\w+", name) for name in fonts), fonts  # the subset prefix
        assert all(size < MAX_EMBEDDED_FONT_BYTES for size in fonts.values()), fonts
        assert min(path.stat().st_size for path in invoice.FONT_FILES.values()) > 10 * MAX_EMBEDDED_FONT_BYTES

    @pytest.mark.parametrize(
        "name",
        ["Иван Петров", "Αλέξανδρος Παπαδόπουλος", "Antonín Dvořák", "Łukasz Żółć", "山田 花子 やまだ"],
    )
    def test_other_scripts_and_accented_latin_are_text_too(self, name):
        text = pdf_text(invoice_pdf(simple_invoice(customer_name=name)))
        assert name in text
        assert "125009 Москва" in text

    def test_characters_neither_font_has_are_left_out_not_an_error(self):
        # Whatever a shopper typed at checkout, staff can still download the invoice.
        text = pdf_text(invoice_pdf(simple_invoice(customer_name="Ana 🙂 𠮷野 \x00 " + "x" * 300)))
        assert "Ana" in text and "野" in text and "🙂" not in text

    def test_the_font_licences_are_kept_beside_them(self):
        nanum = (invoice.FONTS_DIR / "NanumSquareR-OFL.txt").read_text()
        assert "SIL OPEN FONT LICENSE" in nanum and "Version 1.1" in nanum
        dejavu = (invoice.FONTS_DIR / "DejaVuSans-LICENSE.txt").read_text()
        assert "Bitstream" in dejavu and "DejaVu changes are in public domain" in dejavu

    def test_many_lines_go_on_more_pages_with_the_total_at_the_end(self):
        items = tuple(InvoiceItem(f"상품 {n}", Decimal("1000"), 1, Decimal("1000")) for n in range(60))
        pdf = invoice_pdf(simple_invoice(items=items, totals=(InvoiceTotal("Total", Decimal("60000")),)))
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) > 1
        assert "상품 59" in reader.pages[-1].extract_text()
        assert "Total 60,000 KRW" in reader.pages[-1].extract_text()


class TestFormatMoney:
    @pytest.mark.parametrize(
        ("amount", "currency", "written"),
        [
            ("62.30", "usd", "62.30 USD"),
            ("1234.5", "eur", "1,234.50 EUR"),
            ("15000.00", "krw", "15,000 KRW"),  # KRW has no decimals
            ("1500000", "jpy", "1,500,000 JPY"),
            ("1.235", "kwd", "1.240 KWD"),  # Stripe charges KWD in tens of fils
            ("0.005", "usd", "0.01 USD"),  # the shop's one rounding rule (half up)
        ],
    )
    def test_uses_the_currency_decimals(self, amount, currency, written):
        assert format_money(Decimal(amount), currency) == written
