"""Checkout latency with a 2-second e-mail backend against an instant one.

The confirmation is sent by a worker, never by the request, so the two should be alike
(target: p95 ratio at most 1.1). Each round starts a real `celery worker` on the embedded
broker with that backend, places the checkouts through Django's test client and waits until
the worker has sent every confirmation, which proves the slow backend really ran.

    .venv/bin/python bench/checkout_latency.py [--checkouts 40]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = {
    "instant": "django.core.mail.backends.locmem.EmailBackend",
    "2 s per e-mail": "bench.slow_email.SlowEmailBackend",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=40)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="shop_project.settings.local",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}"),
        CELERY_FILESYSTEM_BROKER_DIR=str(workdir / "broker"),
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_LOG_LEVEL="WARNING",
        # Every checkout is bench@example.com's, never paid: no cap on unpaid orders.
        SHOP_MAX_UNPAID_ORDERS="1000000000",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_catalog", products=12, stdout=open(os.devnull, "w"))

    try:
        results = {name: run_round(backend, args.checkouts, workdir) for name, backend in BACKENDS.items()}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)


def run_round(backend: str, checkouts: int, workdir: Path) -> list[float]:
    from apps.orders.models import ConfirmationStatus, Order

    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "shop_project", "worker",
         "--pool", "threads", "--concurrency", "8",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=ROOT, env={**os.environ, "DJANGO_EMAIL_BACKEND": backend},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        first_id = (Order.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        latencies = [checkout_seconds() for _ in range(checkouts)]
        mine = Order.objects.filter(id__gte=first_id)
        deadline = time.monotonic() + 60 + checkouts * 2
        while mine.exclude(confirmation_status=ConfirmationStatus.SENT).exists():
            if time.monotonic() > deadline:
                raise SystemExit("the worker did not send every confirmation in time")
            time.sleep(0.2)
        return latencies
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def checkout_seconds() -> float:
    from django.test import Client

    from apps.shop.models import Product

    client = Client()
    product = Product.objects.filter(available=True, stock__gt=0).order_by("?").first()
    client.post(f"/en/cart/add/{product.id}/", {"quantity": 1})
    customer = {"first_name": "Bench", "last_name": "Mark", "email": "bench@example.com",
                "address": "1 Loop Road", "postal_code": "12345", "city": "Localhost"}
    # What the checkout page showed goes back with the order, as from a browser (not timed).
    page = client.get("/en/orders/create/").content.decode()
    shown = re.search(r'name="shown" value="([^"]+)"', page).group(1)
    started = time.perf_counter()
    response = client.post("/en/orders/create/", {**customer, "shown": shown})
    elapsed = time.perf_counter() - started
    if response.status_code != 302:
        raise SystemExit(f"checkout answered {response.status_code}")
    return elapsed


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def report(results: dict[str, list[float]]) -> None:
    print("| e-mail backend | checkouts | p50 ms | p95 ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in results.items():
        p50, p95 = percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000
        print(f"| {name} | {len(values)} | {p50:.1f} | {p95:.1f} |")
    fast, slow = results.values()
    print(f"\np95 ratio slow/instant: {percentile(slow, .95) / percentile(fast, .95):.2f} (target <= 1.1)")


if __name__ == "__main__":
    main()
