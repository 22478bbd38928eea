"""Where a page's time goes: requests/s of one process and a cProfile breakdown, no load generator.

The shop runs in this process with web.py's production settings (BENCH_SETTINGS) against
PostgreSQL, and each request is one WSGI call of the application gunicorn serves, with a cookie
jar: the middleware, the session's query, the view, the templates and the response, without
HTTP parsing or the network. A quick, repeatable figure for one change on a shared machine,
where wrk's figures are noise; `make bench` (web.py) remains the measure of record.

    .venv/bin/python bench/profile_pages.py [--requests 1000] [--profile] [--queries] [--pages cart healthz]

Pages: healthz (the floor), cart (a session holding three lines), and the checkout journey's
steps: product (a product page with a session), add (POST /en/cart/add/), checkout (the form),
order (POST it), payment (the payment page, reloaded: its PaymentIntent exists), thank-you.
The payment page needs localstripe: the script starts one on BENCH_LOCALSTRIPE_PORT (8421).

The database (BENCH_DB_NAME, default shop_bench_profile) is seeded once with 10,000 products
and kept; the cart's three products are each bought together with 2,000 others (--pairs), so
the bought-together query meets a pairs table that has grown. --profile prints, per page, the time
per request of the parts named in PARTS and the functions that took most of it; with
BENCH_PROFILE_DUMP=<path> it also writes each page's stats to <path>.<page> (for pstats).
The add step shows each add's notice (a cart page, untimed) before the next, as a shopper's
next page would.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import web

PRODUCTS = 10_000
PAIRS_PER_CART_PRODUCT = 2_000
PAGES = ["healthz", "cart", "product", "add", "checkout", "order", "payment", "thank-you"]
CUSTOMER = {"first_name": "Bench", "last_name": "Mark", "email": "bench@example.com",
            "address": "1 Loop Road", "postal_code": "12345", "city": "Localhost"}

# (label, file ending, function): cumulative time of these, per request, in --profile.
PARTS = [
    ("whole request (WSGIHandler.__call__)", "handlers/wsgi.py", "__call__"),
    ("session load (SessionStore.load)", "shop_project/sessions.py", "load"),
    ("session save (SessionStore.save)", "shop_project/sessions.py", "save"),
    ("connection health check (is_usable)", "backends/postgresql/base.py", "is_usable"),
    ("CSRF process_view", "middleware/csrf.py", "process_view"),
    ("CSRF process_response", "middleware/csrf.py", "process_response"),
    ("messages process_response", "messages/middleware.py", "process_response"),
    ("CSP process_response", "csp/middleware.py", "process_response"),
    ("request log line", "shop_project/logs.py", "_request_fields"),
    ("the view", "core/handlers/base.py", "_get_response"),
    ("template render (backend Template.render)", "template/backends/django.py", "render"),
    ("SQL (CursorWrapper.execute)", "django/db/backends/utils.py", "execute"),
    ("response close (request_finished)", "django/http/response.py", "close"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=["healthz", "cart"])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--queries", action="store_true", help="print each page's SQL, once")
    parser.add_argument("--pairs", type=int, default=PAIRS_PER_CART_PRODUCT,
                        help="products each cart product was bought with (0: none, as web.py's database)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_pages(args)
        return
    database = os.environ.get("BENCH_DB_NAME", "shop_bench_profile")
    work = Path(tempfile.mkdtemp(prefix="shop-bench-profile-"))
    env = web.bench_env(work, database)
    localstripe = web.start_localstripe(env, work) if "payment" in args.pages else None
    try:
        if web.catalog_size(database) < PRODUCTS:
            web.recreate_db(database)
            web.manage(env, "migrate", "--no-input")
            web.manage(env, "seed_catalog", "--products", str(PRODUCTS))
        else:
            web.manage(env, "migrate", "--no-input")
        web.manage(env, "collectstatic", "--no-input")
        done = subprocess.run([web.PYTHON, __file__, "--child", *sys.argv[1:]], env=env, cwd=web.ROOT)
        sys.exit(done.returncode)
    finally:
        if localstripe is not None:
            localstripe.terminate()
            localstripe.wait(timeout=30)


# The child: the shop in this process ---------------------------------------------------------

class Browser:
    """WSGI calls with a cookie jar, as gunicorn would make them for one shopper."""

    form_page = "/"  # a product page, set once the catalog is known

    def __init__(self, application):
        self.application = application
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, dict, str]:
        from urllib.parse import urlencode, urlsplit

        parts = urlsplit(path)
        body = urlencode(data or {}).encode()
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
            "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if method == "POST":
            environ.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split()[0]), headers

        result = self.application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
        headers = {}
        for name, value in answer["headers"]:
            if name.lower() == "set-cookie":
                key, _, rest = value.strip().partition("=")
                cookie_value = rest.split(";", 1)[0]
                if cookie_value in ('""', "") or "Max-Age=0" in value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie_value
            headers[name.lower()] = value
        return answer["status"], headers, content.decode()

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict):
        if "csrftoken" not in self.cookies:
            self.get(self.form_page)  # a page with a form sets the CSRF cookie
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": self.cookies["csrftoken"]})


def seed_pairs(products, pairs: int) -> None:
    from apps.recommendations.models import ProductPair
    from apps.shop.models import Product

    if ProductPair.objects.filter(product__in=products).count() == pairs * len(products):
        return
    ProductPair.objects.filter(product__in=products).delete()
    ProductPair.objects.filter(other__in=products).delete()
    others = list(Product.objects.exclude(id__in=[p.id for p in products])
                  .order_by("id").values_list("id", flat=True)[:pairs])
    ProductPair.objects.bulk_create(
        pair for product in products for other_id in others for pair in (
            ProductPair(product_id=product.id, other_id=other_id, count=other_id % 97 + 1),
            ProductPair(product_id=other_id, other_id=product.id, count=other_id % 97 + 1),
        )
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE recommendations_productpair")


def run_pages(args) -> None:
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from apps.shop.models import Product

    application = get_wsgi_application()
    products = list(Product.objects.filter(available=True, stock__gte=1000).order_by("-id")[:3])
    if len(products) < 3:
        products = list(Product.objects.filter(available=True).order_by("-id")[:3])
        Product.objects.filter(id__in=[p.id for p in products]).update(stock=10**8)
    seed_pairs(products, args.pairs)
    Browser.form_page = products[0].get_absolute_url()

    shopper = Browser(application)
    for product in products:
        status, _, _ = shopper.post(f"/en/cart/add/{product.id}/", {"quantity": 1})
        assert status == 302, status
    status, _, page = shopper.get("/en/cart/")
    assert status == 200 and page.count("/en/cart/remove/") == 3, status

    from django.db import connection

    with connection.cursor() as cursor:
        # What autovacuum would have done to the tables earlier runs grew (off on some machines;
        # without their statistics the planner scans every unpaid order for the cap, say).
        cursor.execute("VACUUM ANALYZE orders_order, orders_orderitem, orders_earliercarttoken, "
                       "django_session")

    visitor = Browser(application)  # the floor: no cookie, as wrk sends it
    steps = {"healthz": (None, lambda: visitor.get("/healthz/")),
             "cart": (None, lambda: shopper.get("/en/cart/")),
             **journey_steps(application, args.pages)}
    results = {}
    for name in args.pages:
        prepare, request = steps[name]
        for _ in range(min(50, args.requests)):  # warm-up: templates, caches, connection
            prepare and prepare()
            request()
        from django.db import connection, reset_queries

        prepare and prepare()
        connection.force_debug_cursor = True
        reset_queries()
        request()
        queries = len(connection.queries)
        connection.force_debug_cursor = False
        if args.queries:
            for query in connection.queries:
                print(f"    {query['time']} s  {query['sql'][:300]}")
        profiler = cProfile.Profile() if args.profile else None
        seconds = 0.0
        for _ in range(args.requests):
            prepare and prepare()  # what the step needs first (a fresh cart), neither timed nor profiled
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            request()
            if profiler:
                profiler.disable()
            seconds += time.perf_counter() - started
        results[name] = {"rps": args.requests / seconds, "ms": seconds * 1000 / args.requests,
                         "queries": queries}
        print(f"{name}: {results[name]['rps']:.0f} req/s, {results[name]['ms']:.2f} ms/request, "
              f"{queries} queries{' (under cProfile)' if profiler else ''}", flush=True)
        if profiler:
            print_profile(profiler, args.requests, args.top)
            if os.environ.get("BENCH_PROFILE_DUMP"):
                profiler.dump_stats(f"{os.environ['BENCH_PROFILE_DUMP']}.{name}")
    if "healthz" in results:
        floor = results["healthz"]["rps"]
        for name, result in results.items():
            print(f"  {name}: {result['rps'] / floor:.2f}x the floor")
    print("BENCHJSON " + json.dumps(results))


def journey_steps(application, pages):
    """Each step of the checkout journey: (what it needs first, untimed; the request)."""
    from apps.shop.models import Product

    product = Product.objects.filter(available=True).order_by("-id")[5]
    Product.objects.filter(id=product.id).update(stock=10**8)

    def fresh_cart() -> Browser:
        browser = Browser(application)
        assert browser.post(f"/en/cart/add/{product.id}/", {"quantity": 1})[0] == 302
        return browser

    def shown(browser: Browser) -> str:
        return re.search(r'name="shown" value="([^"]+)"', browser.get("/en/orders/create/")[2]).group(1)

    browsing = fresh_cart()
    paying, payment_url, thank_you = None, "", ""
    if {"payment", "thank-you"} & set(pages):
        # One order, its payment page loaded once (its PaymentIntent made), then reloaded.
        paying = fresh_cart()
        status, headers, _ = paying.post(
            "/en/orders/create/", {**CUSTOMER, "email": f"bench-paying-{time.time_ns()}@example.com",
                                   "shown": shown(paying)})
        assert status == 302, status
        payment_url = headers["location"]
        thank_you = "/en/orders/created/" + re.search(r"order=(\d+)", payment_url).group(1) + "/"
        if "payment" in pages:
            assert paying.get(payment_url)[0] == 200

    ordering, form = None, {}

    def order_prepare():
        # Each order is another shopper's (a session and an address of its own, as unpaid orders
        # are capped per session and per address), with a cart of one line, untimed.
        nonlocal ordering
        ordering = fresh_cart()
        form.update(CUSTOMER, email=f"bench-{time.time_ns()}@example.com", shown=shown(ordering))

    def order():
        status, _, page = ordering.post("/en/orders/create/", form)
        assert status == 302, (status, re.findall(r'<ul class="errorlist[^"]*"><li>([^<]+)', page))

    return {
        "product": (None, lambda: browsing.get(product.get_absolute_url())),
        # Each add leaves a notice for the next page, which a shopper sees (web.py's journey: the
        # checkout form). Shown before each add, untimed: unshown, hundreds of them piled up in the
        # messages cookie and then the session, and each add read and wrote them all.
        "add": (lambda: browsing.get("/en/cart/"),
                lambda: browsing.post(f"/en/cart/add/{product.id}/", {"quantity": 1, "override": "True"})),
        "checkout": (None, lambda: browsing.get("/en/orders/create/")),
        "order": (order_prepare, order),
        "payment": (None, lambda: paying.get(payment_url)),
        "thank-you": (None, lambda: paying.get(thank_you)),
    }


def print_profile(profiler: cProfile.Profile, requests: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    per_request = 1000 / requests
    print("  part                                       ms/request (cumulative)")
    for label, file_end, function in PARTS:
        total = sum(
            cumulative for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items()
            if name == function and filename.endswith(file_end)
        )
        if total:
            print(f"  {label:<42} {total * per_request:8.3f}")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
