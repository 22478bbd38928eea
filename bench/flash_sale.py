"""Flash sale: 200 buyers at once over gunicorn and PostgreSQL for 100 units, on one product or 100.

Each buyer is an HTTP client of its own (its own connection, cookies and session) doing what a
browser does: GET the product page (the CSRF cookie and token), POST /cart/add/<id>/, GET
/orders/create/ (the form's CSRF token and its signed `shown` field), POST the six customer
fields. All of them are released at the same instant. Two runs of the same sale:

- one product with 100 units: every checkout queues for the same row lock;
- 100 products with 1 unit each, two buyers a product: the same sales and refusals, spread over
  100 rows, so the difference between the two is what the row lock costs.

Reported per kind of run (the median of --runs): units sold (must be exactly 100, checked in the
database too: the orders' items, and no stock below 0), buyers refused because the stock ran out
(the checkout answered with its out-of-stock message, or the product page said "Out of stock"),
errors (5xx answers and transport errors: must be 0), other unexpected answers (must be 0), the
time from the release to the 100th sale, and the checkout POST's p50/p99.

The server is gunicorn with 2 worker processes (one a core) of 8 threads each (gthread): 16
requests in flight, each with its own database connection, like 16 warm Lambda containers. Sync
workers would serve two requests at a time, so no more than two checkouts could ever wait for
the row, and the run would measure gunicorn's backlog instead of the lock. More threads add GIL
contention on 2 cores, not throughput, and connections to a PostgreSQL that test databases share.

    .venv/bin/python bench/flash_sale.py [--buyers 200] [--units 100] [--runs 3] [--json PATH]

Needs PostgreSQL on 127.0.0.1:5432 (BENCH_POSTGRES_URL as for web.py); the database
(BENCH_DB_NAME + "_flash", shop_bench_web_flash) is made and dropped.
"""

import argparse
import http.client
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import web  # bench/web.py: the same server settings, database helpers and gunicorn

DATABASE = web.BIG_DB + "_flash"
WORKERS, THREADS = 2, 8
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SHOWN_INPUT = re.compile(r'name="shown" value="([^"]+)"')
CUSTOMER = {"first_name": "Flash", "last_name": "Buyer",
            "address": "1 Loop Road", "postal_code": "12345", "city": "Localhost"}
OUT_OF_STOCK = "Not enough stock for"
TIMEOUT = 120


@dataclass
class Buyer:
    """One shopper's outcome: "sold", "refused", "error" (5xx, transport) or "unexpected"."""

    product_id: int
    product_url: str
    outcome: str = ""
    detail: str = ""
    checkout_ms: float | None = None
    done_at: float | None = None  # seconds after the release
    # An address of its own: unpaid orders are capped per address (SHOP_MAX_UNPAID_ORDERS).
    email: str = field(default_factory=lambda: f"buyer-{uuid.uuid4().hex[:12]}@example.com")
    request_ms: list[float] = field(default_factory=list)


class Session:
    """A browser's connection and cookie jar, on one keep-alive connection."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.times: list[float] = []

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        self.times.append((time.monotonic() - started) * 1000)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers.get("Location", ""), text


def buy(buyer: Buyer, port: int, release: threading.Barrier, t0: list[float]) -> None:
    session = Session(port)
    release.wait()
    try:
        status, _, page = session.request("GET", buyer.product_url)
        if status >= 500:
            return finish(buyer, "error", f"product page {status}", t0)
        if status != 200:
            return finish(buyer, "unexpected", f"product page {status}", t0)
        token = CSRF_INPUT.search(page)
        if token is None:
            sold_out = "Out of stock." in page
            return finish(buyer, "refused" if sold_out else "unexpected", "product page without a form", t0)
        status, _, _ = session.request("POST", f"/en/cart/add/{buyer.product_id}/",
                                       {"quantity": 1, "csrfmiddlewaretoken": token.group(1)})
        if status != 302:
            return finish(buyer, "error" if status >= 500 else "unexpected", f"add {status}", t0)
        status, _, page = session.request("GET", "/en/orders/create/")
        token, shown = CSRF_INPUT.search(page), SHOWN_INPUT.search(page)
        if status != 200 or token is None or shown is None:
            return finish(buyer, "error" if status >= 500 else "unexpected", f"checkout form {status}", t0)
        status, location, page = session.request(
            "POST", "/en/orders/create/",
            {**CUSTOMER, "email": buyer.email, "csrfmiddlewaretoken": token.group(1),
             "shown": shown.group(1)})
        buyer.checkout_ms = session.times[-1]
        # Placed: checkout leads to the order's payment page (the sale ends there, unpaid).
        if status == 302 and "/en/payment/process/?order=" in location:
            return finish(buyer, "sold", location, t0)
        if status == 200 and OUT_OF_STOCK in page:
            return finish(buyer, "refused", "out of stock at checkout", t0)
        return finish(buyer, "error" if status >= 500 else "unexpected", f"checkout {status}", t0)
    except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out
        return finish(buyer, "error", f"transport: {type(error).__name__}: {error}", t0)
    finally:
        buyer.request_ms = session.times
        session.connection.close()


def finish(buyer: Buyer, outcome: str, detail: str, t0: list[float]) -> None:
    buyer.outcome, buyer.detail, buyer.done_at = outcome, detail, time.monotonic() - t0[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind; medians reported")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="shop-bench-flash-"))
    env = web.bench_env(work, DATABASE)
    try:
        web.recreate_db(DATABASE)
        web.manage(env, "migrate", "--no-input")
        web.manage(env, "seed_catalog", "--products", str(args.units + 1))
        web.manage(env, "collectstatic", "--no-input")
        products = product_ids(args.units + 1)
        warmup_product, sale_products = products[0], products[1:]
        kinds = {
            "one product": [(sale_products[0], args.units)],
            f"{args.units} products": [(product_id, 1) for product_id in sale_products],
        }
        results = {kind: [] for kind in kinds}
        for _ in range(args.runs):
            for kind, stock in kinds.items():  # alternated, so that both meet the same noise
                results[kind].append(run_sale(env, work, stock, warmup_product, args.buyers))
                print(f"{kind}: {summary_line(results[kind][-1])}", file=sys.stderr, flush=True)
    finally:
        web.drop_db(DATABASE)
        shutil.rmtree(work, ignore_errors=True)
    out = {"buyers": args.buyers, "units": args.units, "runs": args.runs, "workers": WORKERS,
           "threads": THREADS, "results": results}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    report(out)


def product_ids(count: int) -> list[int]:
    with web.admin_connection(DATABASE) as conn:
        rows = conn.execute("SELECT id FROM shop_product ORDER BY id LIMIT %s", [count]).fetchall()
    return [row[0] for row in rows]


def reset(stock: list[tuple[int, int]], warmup_product: int) -> None:
    """No orders or sessions; the sale's products hold their units, every other product none."""
    with web.admin_connection(DATABASE) as conn:
        # CASCADE: with the orders, every table that refers to one (items, cart tokens, the counted
        # orders of bought-together), whichever app added it.
        conn.execute("TRUNCATE orders_order, django_session CASCADE")
        conn.execute("UPDATE shop_product SET stock = 0, available = true")
        conn.execute("UPDATE shop_product SET stock = 10000 WHERE id = %s", [warmup_product])
        with conn.cursor() as cursor:
            cursor.executemany("UPDATE shop_product SET stock = %s WHERE id = %s",
                               [(units, product_id) for product_id, units in stock])
        conn.execute("VACUUM ANALYZE shop_product")


def run_sale(env, work: Path, stock: list[tuple[int, int]], warmup_product: int, buyers: int) -> dict:
    reset(stock, warmup_product)
    port = web.free_port()
    # A server of its own for each run: no process keeps a product page cached from the last.
    server = web.start_gunicorn(env, port, work, workers=WORKERS,
                                extra=["--worker-class", "gthread", "--threads", str(THREADS)])
    try:
        urls = product_urls(port, [warmup_product] + [product_id for product_id, _ in stock])
        warm_up(port, warmup_product, urls[warmup_product])
        # The products in turn: 200 buyers over 100 one-unit products are two a product.
        chosen = [stock[i % len(stock)][0] for i in range(buyers)]
        crowd = [Buyer(product_id, urls[product_id]) for product_id in chosen]
        release, t0 = threading.Barrier(len(crowd) + 1), [0.0]
        threads = [threading.Thread(target=buy, args=(b, port, release, t0)) for b in crowd]
        for thread in threads:
            thread.start()
        t0[0] = time.monotonic()
        release.wait()
        for thread in threads:
            thread.join(TIMEOUT * 5)
        wall = time.monotonic() - t0[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = (work / "gunicorn.log").read_text()
    return outcome(crowd, stock, wall, log)


def product_urls(port: int, ids: list[int]) -> dict[int, str]:
    with web.admin_connection(DATABASE) as conn:
        rows = conn.execute("SELECT id, slug_en FROM shop_product WHERE id = ANY(%s)", [ids]).fetchall()
    return {product_id: f"/en/{product_id}/{slug}/" for product_id, slug in rows}


def warm_up(port: int, product_id: int, url: str) -> None:
    """Every thread of both workers has served a checkout: templates loaded, connections open."""
    crowd = [Buyer(product_id, url) for _ in range(WORKERS * THREADS * 2)]
    release, t0 = threading.Barrier(len(crowd) + 1), [time.monotonic()]
    threads = [threading.Thread(target=buy, args=(b, port, release, t0)) for b in crowd]
    for thread in threads:
        thread.start()
    release.wait()
    for thread in threads:
        thread.join(TIMEOUT)
    bad = [b.detail for b in crowd if b.outcome != "sold"]
    if bad:
        raise SystemExit(f"the warm-up checkouts failed: {bad[:3]}")
    with web.admin_connection(DATABASE) as conn:  # the sale starts with no orders (as in reset())
        conn.execute("TRUNCATE orders_order, django_session CASCADE")


def outcome(crowd: list[Buyer], stock: list[tuple[int, int]], wall: float, log: str) -> dict:
    ids = [product_id for product_id, _ in stock]
    with web.admin_connection(DATABASE) as conn:
        sold_in_db = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM orders_orderitem WHERE product_id = ANY(%s)", [ids]
        ).fetchone()[0]
        stock_left = conn.execute("SELECT coalesce(sum(stock), 0), coalesce(min(stock), 0) "
                                  "FROM shop_product WHERE id = ANY(%s)", [ids]).fetchone()
        orders = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
    kinds = ("sold", "refused", "error", "unexpected")
    counts = {kind: sum(b.outcome == kind for b in crowd) for kind in kinds}
    counts["refused_at_checkout"] = sum(b.detail == "out of stock at checkout" for b in crowd)
    sold_at = sorted(b.done_at for b in crowd if b.outcome == "sold")
    checkouts = sorted(b.checkout_ms for b in crowd if b.checkout_ms is not None)
    requests = sorted(ms for b in crowd for ms in b.request_ms)
    return {
        **counts,
        "units": sum(units for _, units in stock),
        "products": len(stock),
        "sold_in_db": int(sold_in_db), "orders_in_db": orders,
        "stock_left": int(stock_left[0]), "min_stock": int(stock_left[1]),
        "sell_out_s": sold_at[-1] if sold_at else None,
        "all_answered_s": max((b.done_at for b in crowd if b.done_at is not None), default=wall),
        "checkout_p50_ms": percentile(checkouts, 50), "checkout_p99_ms": percentile(checkouts, 99),
        "request_p50_ms": percentile(requests, 50),
        "problems": [f"{b.outcome}: {b.detail}" for b in crowd if b.outcome in ("error", "unexpected")][:5],
        "server_errors": [line for line in log.splitlines() if "Traceback" in line or "ERROR" in line][:5],
    }


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def summary_line(r: dict) -> str:
    return (f"sold {r['sold']} (database {r['sold_in_db']}), refused {r['refused']}, errors {r['error']}, "
            f"unexpected {r['unexpected']}, sold out after {r['sell_out_s'] or 0:.2f} s, checkout p50 "
            f"{r['checkout_p50_ms'] or 0:.0f} ms p99 {r['checkout_p99_ms'] or 0:.0f} ms"
            + (f"; {r['problems']}" if r["problems"] else ""))


def median(runs: list[dict], key: str) -> float:
    values = [run[key] for run in runs if run[key] is not None]
    return statistics.median(values) if values else float("nan")


def report(out: dict) -> None:
    print("| sale | buyers | units | sold | refused (no stock) | errors (5xx, transport) | other answers "
          "| sold out after s | checkout p50 ms | checkout p99 ms | request p50 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, runs in out["results"].items():
        sold = "/".join(str(run["sold"]) for run in runs)
        print(f"| {kind} | {out['buyers']} | {runs[0]['units']} | {sold} "
              f"| {'/'.join(str(r['refused']) for r in runs)} | {sum(r['error'] for r in runs)} "
              f"| {sum(r['unexpected'] for r in runs)} | {median(runs, 'sell_out_s'):.2f} "
              f"| {median(runs, 'checkout_p50_ms'):.0f} | {median(runs, 'checkout_p99_ms'):.0f} "
              f"| {median(runs, 'request_p50_ms'):.0f} |")
    every = [run for runs in out["results"].values() for run in runs]
    exact = all(r["sold"] == r["units"] == r["sold_in_db"] and r["stock_left"] == 0 and r["min_stock"] >= 0
                for r in every)
    errors = sum(r["error"] + r["unexpected"] for r in every)
    kinds = list(out["results"])
    lock = median(out["results"][kinds[0]], "sell_out_s") / median(out["results"][kinds[1]], "sell_out_s")
    print(f"\nunits sold exactly {out['units']} in every run (answers and database): "
          f"{'yes' if exact else 'NO'}; errors and other answers in all runs: {errors}; "
          f"sell-out time one product / {kinds[1]}: {lock:.2f}; refused at checkout (the rest on "
          "the product page, out of stock): "
          + ", ".join(f"{kind} {'/'.join(str(r['refused_at_checkout']) for r in runs)}"
                      for kind, runs in out["results"].items()))
    print(f"\nSetup: {out['runs']} runs of each sale, alternated, medians shown (sold and refused: "
          "each run); "
          f"gunicorn {out['workers']} workers x {out['threads']} threads (gthread), production "
          "settings as in web.py, PostgreSQL on loopback; each buyer a thread with its own "
          "keep-alive connection and cookies, all released by one barrier; a fresh server and no "
          "orders for each run, after a warm-up checkout on every thread.")
    problems = [p for r in every for p in r["problems"] + r["server_errors"]]
    if problems:
        print("\nproblems: " + "; ".join(problems[:5]))


if __name__ == "__main__":
    main()
