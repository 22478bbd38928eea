"""The PDF invoice of an order, as the book has it: shop, number, date, customer, lines, total, PAID.

Rendered with fpdf2 (pure Python: it runs in the Lambda package, which has no system libraries)
in two fonts that between them cover the names and addresses shoppers type: DejaVu Sans for
Latin (with the accents of Central European names), Greek and Cyrillic, and NanumSquare for
what it lacks (Hangul, kana, Hanja). Both are small (0.7 MB each; NanumGothic, 4.7 MB, also
lacks most of Latin Extended-A), and only the glyphs used are embedded (subsets, made by
fontTools). fpdf2 is imported inside invoice_pdf only: the web process's start never pays for it.

What the PDF shows is an Invoice, built from the order by invoice_of; invoice_pdf only lays it
out. Its `totals` are the lines under the items (the total; a coupon adds subtotal and discount).
Both write in the active language (labels, the date, the numbers' separators);
order_invoice_pdf makes that the order's own, whoever asks. The currency stays the shop's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from apps.orders.models import Order
from apps.payment.money import decimal_places, round_money

SHOP_NAME = "My Shop"
FONTS_DIR = Path(__file__).with_name("fonts")  # each font's licence is beside it
FONT_FAMILY = "DejaVuSans"
# Where DejaVu Sans has no glyph for a character, fpdf2 takes it from these, in order.
FALLBACK_FONTS = {"NanumSquare": FONTS_DIR / "NanumSquareR.ttf"}
FONT_FILES = {FONT_FAMILY: FONTS_DIR / "DejaVuSans.ttf", **FALLBACK_FONTS}


@dataclass(frozen=True)
class InvoiceItem:
    description: str
    price: Decimal
    quantity: int
    cost: Decimal


@dataclass(frozen=True)
class InvoiceTotal:
    """A line under the items: "Subtotal", "Discount (10%)", "Total"; the last one is charged."""

    label: str
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    number: int
    date: date
    customer_name: str
    address_lines: tuple[str, ...]
    email: str
    items: tuple[InvoiceItem, ...]
    totals: tuple[InvoiceTotal, ...]
    currency: str
    paid: bool
    shop_name: str = SHOP_NAME


def invoice_of(order: Order) -> Invoice:
    """What the invoice of `order` says; `order` should come with its items prefetched."""
    return Invoice(
        number=order.id,
        date=timezone.localdate(order.created),
        customer_name=f"{order.first_name} {order.last_name}",
        address_lines=(order.address, f"{order.postal_code} {order.city}"),
        email=order.email,
        items=tuple(
            InvoiceItem(item.product.name, item.price, item.quantity, item.get_cost())
            for item in order.items.all()
        ),
        totals=invoice_totals(order),
        currency=settings.SHOP_CURRENCY,
        paid=order.paid,
    )


def invoice_totals(order: Order) -> tuple[InvoiceTotal, ...]:
    """The lines under the items, the last being what is charged (order.get_total_cost()).

    A coupon adds the subtotal and the discount before it, as the cart and checkout show them
    (the discount as a negative amount, so the lines add up to the total).
    """
    totals = order.get_totals()
    if not totals.discounted:
        return (InvoiceTotal(gettext("Total"), totals.total),)
    if order.coupon_id:
        discount = gettext("Discount (%(code)s, %(percent)s%%)") % {
            "code": order.coupon.code, "percent": totals.discount_percent}
    else:
        discount = gettext("Discount (%(percent)s%%)") % {"percent": totals.discount_percent}
    return (
        InvoiceTotal(gettext("Subtotal"), totals.subtotal),
        InvoiceTotal(discount, -totals.discount),
        InvoiceTotal(gettext("Total"), totals.total),
    )


def format_money(amount: Decimal, currency: str) -> str:
    """`amount` as the invoice writes it: "1,234.50 USD", "15,000 KRW" (the currency's decimals),
    with the active language's separators."""
    places = decimal_places(currency)
    sign = "−" if amount < 0 else ""  # a discount line, with the minus sign the pages use
    number = formats.number_format(
        round_money(abs(amount), currency), places, use_l10n=True, force_grouping=True)
    return f"{sign}{number} {currency.upper()}"


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF document (A4), its font embedded as a subset, in the active language."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    title = gettext("Invoice no. %(number)s") % {"number": invoice.number}
    pdf.set_title(title)
    pdf.set_author(invoice.shop_name)
    for family, path in FONT_FILES.items():
        pdf.add_font(family, fname=str(path))
    pdf.set_fallback_fonts(list(FALLBACK_FONTS), exact_match=False)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(FONT_FAMILY, size=22)
    pdf.cell(width / 2, 12, invoice.shop_name)
    # Like the book's "Paid" stamp; an order not paid yet (staff may download it) says so.
    pdf.set_text_color(*((0, 140, 60) if invoice.paid else (200, 120, 0)))
    pdf.cell(width / 2, 12, gettext("PAID") if invoice.paid else gettext("PENDING PAYMENT"), align="R",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT_FAMILY, size=11)
    pdf.cell(width, 7, title, new_x="LMARGIN", new_y="NEXT")
    date = formats.date_format(invoice.date, "DATE_FORMAT")
    pdf.cell(width, 7, gettext("Date: %(date)s") % {"date": date}, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, size=13)
    pdf.cell(width, 8, gettext("Bill to"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, size=11)
    for line in (invoice.customer_name, *invoice.address_lines, invoice.email):
        pdf.multi_cell(width, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    money = lambda amount: format_money(amount, invoice.currency)  # noqa: E731
    heading = FontFace(emphasis=None, fill_color=(230, 230, 230))
    with pdf.table(col_widths=(50, 20, 12, 20), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   headings_style=heading, line_height=7) as table:
        table.row((gettext("Product"), gettext("Price"), gettext("Quantity"), gettext("Cost")))
        for item in invoice.items:
            table.row((item.description, money(item.price), str(item.quantity), money(item.cost)))
    pdf.ln(3)
    for number, total in enumerate(invoice.totals, start=1):
        pdf.set_font(FONT_FAMILY, size=13 if number == len(invoice.totals) else 11)
        pdf.cell(width * 0.7, 8, total.label, align="R")
        pdf.cell(width * 0.3, 8, money(total.amount), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def order_invoice_pdf(order: Order) -> bytes:
    """The order's invoice in the language it was placed in (the customer's e-mail, staff's download)."""
    with translation.override(order.language):
        return invoice_pdf(invoice_of(order))


def invoice_filename(order_id: int) -> str:
    return f"invoice_{order_id}.pdf"
