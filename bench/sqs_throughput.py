"""SQS drain throughput: tasks per second the worker Lambda's handler and `celery worker` take off a queue.

Each round drains the same work from a fresh queue on one moto server on loopback: N orders
waiting for their confirmation (made in bulk) and N `order_created` messages for them, published
through the real Celery app on the SQS transport. E-mail is instant on both sides (locmem in
this process, the file backend in the worker's), so what is measured is the drain machinery:
SQS calls, decoding, the task and its database writes, not mail.

- handler: in this process, as Lambda's event-source mapping would drive one warm container:
  receive up to --batch-size messages, build the Lambda event, call the handler, delete the
  records it did not report failed; until a receive comes back empty. Timed from the first
  receive to that empty receive.
- celery worker: a real `celery -A shop_project worker` subprocess on the same moto endpoint,
  with the shop's Celery settings (prefetch multiplier 1, acks late). Timed from the worker
  being ready until every order is sent and the queue holds no message, in flight or not.

Both rounds then check exactly-once: N orders sent, each claimed once, N e-mails, empty DLQ.

    .venv/bin/python bench/sqs_throughput.py [--tasks 300] [--batch-size 10]
                                             [--pool threads] [--concurrency 4]

BENCH_DATABASE_URL (e.g. postgres://...) replaces the throwaway SQLite database; the bench
migrates it and leaves its rows there.
"""

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANT_EMAIL = "django.core.mail.backends.locmem.EmailBackend"
# Most the Lambda event-source mapping and ReceiveMessage take in one go.
SQS_MAX_BATCH = 10
POLL_SECONDS = 0.05
HANDLER_SPENT = "handler (decode, task, database, e-mail)"


def drain_deadline_seconds(tasks: int) -> float:
    # Generous (a task a second, the slowest worker setup seen): this only stops a stuck round.
    return 30 + tasks


@dataclass
class Round:
    drained_by: str
    tasks: int
    seconds: float
    orders_sent: int
    orders_claimed_more_than_once: int
    emails: int
    dead_letters: int
    # Where the time went, as far as this process can see it.
    spent: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return (self.orders_sent == self.emails == self.tasks
                and self.orders_claimed_more_than_once == self.dead_letters == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300, help="messages (and orders) per round")
    parser.add_argument("--batch-size", type=int, default=SQS_MAX_BATCH,
                        help=f"records per handler invocation, 1 to {SQS_MAX_BATCH}")
    parser.add_argument("--pool", choices=["solo", "threads", "prefork"], default="threads",
                        help="the celery worker's pool")
    parser.add_argument("--concurrency", type=int, default=4, help="the celery worker's concurrency")
    args = parser.parse_args()
    if not 1 <= args.batch_size <= SQS_MAX_BATCH:
        parser.error(f"--batch-size must be 1 to {SQS_MAX_BATCH}")
    if args.tasks < 1 or args.concurrency < 1:
        parser.error("--tasks and --concurrency must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="shop_project.settings.local",
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}"),
        # The local default is the filesystem broker, whose folder is in the working tree;
        # the rounds point Celery at their own queue anyway.
        CELERY_BROKER_URL="sqs://",
        DJANGO_EMAIL_BACKEND=INSTANT_EMAIL,
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        # As the worker runs (devtools.workers): DEBUG would keep every query in memory.
        DJANGO_DEBUG="False",
        # The handler logs a line per record; on Lambda that goes to CloudWatch, here nowhere.
        DJANGO_LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from devtools.sqs import aws_environment, moto_server

    call_command("migrate", verbosity=0)
    product = product_seed()
    source = "BENCH_DATABASE_URL" if "BENCH_DATABASE_URL" in os.environ else "throwaway"
    database = f"{connection.vendor} ({source})"

    try:
        with moto_server() as server, aws_environment(server):
            rounds = [
                handler_round(server, product=product, tasks=args.tasks, batch_size=args.batch_size),
                worker_round(server, product=product, tasks=args.tasks, pool=args.pool,
                             concurrency=args.concurrency, workdir=workdir),
            ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(rounds, batch_size=args.batch_size, pool=args.pool, concurrency=args.concurrency,
           database=database)
    if not all(r.exactly_once for r in rounds):
        raise SystemExit("not exactly once: see the table")


# Setting up a round ------------------------------------------------------------------------


def product_seed():
    from apps.shop.models import Category, Product

    category, _ = Category.objects.get_or_create(slug_en="bench", defaults={"name_en": "Bench"})
    product, _ = Product.objects.get_or_create(
        category=category, slug_en="bench-product",
        defaults={"name_en": "Bench product", "price": "9.99", "stock": 1_000_000},
    )
    return product


def orders_create(*, product, count: int) -> list[int]:
    """`count` orders of one item each, already QUEUED, as checkout leaves them once published."""
    from apps.orders.models import ConfirmationStatus, Order, OrderItem

    orders = Order.objects.bulk_create(
        Order(first_name="Bench", last_name=f"Mark {n}", email=f"bench{n}@example.com",
              address="1 Loop Road", postal_code="12345", city="Localhost",
              confirmation_status=ConfirmationStatus.QUEUED)
        for n in range(count)
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, product=product, price=product.price, quantity=1) for order in orders
    )
    return [order.id for order in orders]


def messages_publish(order_ids: list[int]) -> float:
    """One order_created message per order, through the Celery app; the seconds it took."""
    from apps.orders.tasks import order_created

    started = time.perf_counter()
    for order_id in order_ids:
        order_created.apply_async(args=[order_id])
    return time.perf_counter() - started


def orders_outcome(order_ids: list[int]) -> tuple[int, int]:
    """(orders sent, orders claimed more than once) among order_ids."""
    from apps.orders.models import ConfirmationStatus, Order

    mine = Order.objects.filter(id__in=order_ids)
    return (mine.filter(confirmation_status=ConfirmationStatus.SENT).count(),
            mine.filter(confirmation_attempts__gt=1).count())


def queue_empty(queue) -> bool:
    attributes = queue.attributes()
    return (attributes["ApproximateNumberOfMessages"]
            == attributes["ApproximateNumberOfMessagesNotVisible"] == "0")


# The rounds ------------------------------------------------------------------------------------


def handler_round(server, *, product, tasks: int, batch_size: int) -> Round:
    from django.core import mail

    from devtools.sqs import celery_on_sqs, sqs_queue
    from shop_project.lambda_worker import handler
    from shop_project.lambda_worker.container import django_setup_once

    # A warm container: Django and the task registry are set up on a container's first
    # invocation, which a worker that is already "ready" has behind it too.
    django_setup_once()
    with sqs_queue(server) as queue, celery_on_sqs(queue):
        order_ids = orders_create(product=product, count=tasks)
        published_in = messages_publish(order_ids)
        mail.outbox = []
        spent, invocations, failed_records = Counter(), 0, 0
        started = time.perf_counter()
        while True:
            before_receive = time.perf_counter()
            messages = queue.receive(max_messages=batch_size)
            before_handler = time.perf_counter()
            spent["receive_message (moto)"] += before_handler - before_receive
            if not messages:
                break
            event = queue.lambda_event(messages)
            response = handler(event, None)
            before_settle = time.perf_counter()
            spent[HANDLER_SPENT] += before_settle - before_handler
            queue.settle(event, response)
            spent["settle: delete_message per record (moto)"] += time.perf_counter() - before_settle
            invocations += 1
            failed_records += len(response["batchItemFailures"])
            if before_settle - started > drain_deadline_seconds(tasks):
                raise SystemExit(f"the handler did not drain {tasks} messages in time")
        seconds = time.perf_counter() - started
        sent, claimed_again = orders_outcome(order_ids)
        dead_letters = len(queue.receive_dead_letters())
    return Round(
        drained_by=f"Lambda handler (batch {batch_size})", tasks=tasks, seconds=seconds,
        orders_sent=sent, orders_claimed_more_than_once=claimed_again, emails=len(mail.outbox),
        dead_letters=dead_letters, spent=dict(spent),
        notes=[f"published in {published_in:.2f} s", f"{invocations} invocations",
               f"{tasks / spent[HANDLER_SPENT]:.0f} tasks/s in the handler alone",
               f"{failed_records} records reported failed"],
    )


def worker_round(server, *, product, tasks: int, pool: str, concurrency: int, workdir: Path) -> Round:
    from devtools.sqs import celery_on_sqs, sqs_queue
    from devtools.workers import Worker, sent_emails

    mail_dir = workdir / "worker-mail"
    with sqs_queue(server) as queue, celery_on_sqs(queue):
        order_ids = orders_create(product=product, count=tasks)
        published_in = messages_publish(order_ids)
        worker = Worker(mail_dir=mail_dir, log_path=workdir / "worker.log",
                        broker_env=queue.broker_environment())
        pool_at = worker.command.index("--pool")
        worker.command[pool_at:pool_at + 4] = ["--pool", pool, "--concurrency", str(concurrency)]
        # Its Django logging as quiet as this process's; Celery's own -l INFO stays, since
        # wait_until_ready() reads its "ready." line.
        worker.env["DJANGO_LOG_LEVEL"] = "WARNING"
        cpu_before = time.process_time()
        worker.start()
        failed = True
        try:
            worker.wait_until_ready()
            started = time.perf_counter()
            cpu_started = time.process_time()
            sent_when_ready, _ = orders_outcome(order_ids)
            deadline = started + drain_deadline_seconds(tasks)
            while orders_outcome(order_ids)[0] < tasks:
                worker.assert_alive()
                if time.perf_counter() > deadline:
                    raise SystemExit(f"the worker did not send {tasks} confirmations in time")
                time.sleep(POLL_SECONDS)
            all_sent = time.perf_counter() - started
            # Acknowledged too (deleted), as the handler round's messages are when it stops.
            while not queue_empty(queue):
                if time.perf_counter() > deadline:
                    raise SystemExit("the worker sent every confirmation but left messages on the queue")
                time.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - started
            moto_cpu = time.process_time() - cpu_started
            failed = False
        finally:
            # stop_workers() prints the worker's whole log, which only a failed round needs.
            log = io.StringIO()
            with contextlib.redirect_stdout(log):
                worker.stop()
            if failed:
                print(log.getvalue(), file=sys.stderr)
        startup = cpu_started - cpu_before
        sent, claimed_again = orders_outcome(order_ids)
        dead_letters = len(queue.receive_dead_letters())
    return Round(
        drained_by=f"celery worker ({pool} x {concurrency})", tasks=tasks, seconds=seconds,
        orders_sent=sent, orders_claimed_more_than_once=claimed_again, emails=len(sent_emails(mail_dir)),
        dead_letters=dead_letters,
        notes=[f"published in {published_in:.2f} s", f"{sent_when_ready} already sent when it logged ready",
               f"all sent after {all_sent:.2f} s, queue empty after {seconds:.2f} s",
               f"this process (moto, polling) used {moto_cpu:.2f} s CPU while it drained"
               f" ({startup:.2f} s while it started)"],
    )


# Report ----------------------------------------------------------------------------------------


def worker_ceiling(*, concurrency: int) -> str:
    """The most the worker can take off SQS per second as the settings configure it.

    kombu's SQS transport polls again at once only after a receive that found messages; when
    the prefetch is full (every slot holds an unacknowledged task) it waits polling_interval,
    as after an empty receive, however quickly the tasks finish.
    """
    from django.conf import settings
    from kombu.transport.SQS import Transport

    from shop_project.settings.base import celery_broker_transport_options

    # What the worker's settings build for sqs://, not this process's override for the round.
    options = celery_broker_transport_options("sqs://")
    polling_interval = options.get("polling_interval", Transport.polling_interval)
    prefetch = concurrency * settings.CELERY_WORKER_PREFETCH_MULTIPLIER
    return (f"celery worker ceiling as configured: prefetch {prefetch} per polling_interval "
            f"{polling_interval:g} s = {prefetch / polling_interval:.1f} tasks/s (kombu waits "
            f"polling_interval when the prefetch is full, not only when the queue is empty).")


def report(rounds: list[Round], *, batch_size: int, pool: str, concurrency: int, database: str) -> None:
    from django.conf import settings

    print("| drained by | tasks | seconds | tasks/s | orders sent | e-mails |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rounds:
        sent = f"{r.orders_sent}" + ("" if r.orders_claimed_more_than_once == 0
                                     else f" ({r.orders_claimed_more_than_once} claimed again)")
        print(f"| {r.drained_by} | {r.tasks} | {r.seconds:.2f} | {r.tasks / r.seconds:.1f} "
              f"| {sent} | {r.emails} |")
    print(f"\nSetup: moto (ThreadedMotoServer) on loopback in the bench process; handler batch size "
          f"{batch_size}, in-process, one invocation at a time (one warm container); celery worker "
          f"--pool {pool} --concurrency {concurrency}, prefetch multiplier "
          f"{settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, acks late; instant e-mail; database {database}.")
    print(worker_ceiling(concurrency=concurrency))
    for r in rounds:
        if r.spent:
            total = sum(r.spent.values())
            shares = ", ".join(f"{name} {seconds:.2f} s ({seconds / total:.0%})"
                               for name, seconds in r.spent.items())
            print(f"{r.drained_by}: {shares}.")
        print(f"{r.drained_by}: {'; '.join(r.notes)}; dead letters {r.dead_letters}.")


if __name__ == "__main__":
    main()
