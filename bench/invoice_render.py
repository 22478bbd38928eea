"""Time and peak memory of rendering the PDF invoice of a 20-line order (apps/payment/invoice.py).

No database: the invoice is built as invoice_of builds it from an order, its names and address
in Korean. The first render of a process also imports fpdf2 and fontTools (what a worker's
first invoice pays); the others are the steady state. Peak memory is tracemalloc's peak of one
render (Python allocations), and the process's maximum RSS after all of them.

    .venv/bin/python bench/invoice_render.py [--runs 20] [--lines 20]
"""

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_project.settings.local")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    import django

    django.setup()
    from apps.payment.invoice import Invoice, InvoiceItem, InvoiceTotal, invoice_pdf

    items = tuple(InvoiceItem(f"녹차 선물 세트 {n} (Green tea gift set)", Decimal("15900.00"), n % 3 + 1,
                              Decimal("15900.00") * (n % 3 + 1)) for n in range(args.lines))
    invoice = Invoice(
        number=1234, date=date(2026, 12, 2), customer_name="민준 김",
        address_lines=("테헤란로 152, 강남파이낸스센터 12층", "06236 서울특별시"),
        email="minjun.kim@example.com", items=items,
        totals=(InvoiceTotal("Total", sum(item.cost for item in items)),), currency="krw", paid=True,
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    size = len(invoice_pdf(invoice))
    first = time.perf_counter() - started
    seconds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        invoice_pdf(invoice)
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    invoice_pdf(invoice)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print("| lines | PDF KiB | first render ms (imports) | median ms | max ms | peak MiB (tracemalloc) "
          "| max RSS MiB (before → after) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    median = statistics.median(seconds)
    print(f"| {args.lines} | {size / 1024:.1f} | {first * 1000:.0f} | {median * 1000:.0f} "
          f"| {max(seconds) * 1000:.0f} | {peak:.1f} | {rss_before:.0f} → {rss_after:.0f} |")


if __name__ == "__main__":
    main()
