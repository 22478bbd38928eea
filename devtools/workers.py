"""Real `celery -A shop_project worker` processes for the broker tests, and the e-mails they leave.

A worker runs with the local settings (the test settings keep e-mail in memory, which a
subprocess cannot share), against the test database the test runner created, and writes its
e-mails to files that the test reads back.
"""

from __future__ import annotations

import email
import email.message
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from kombu import pools

from shop_project.celery import app

# A worker imports Django and Celery and connects to its broker; a slow CI machine gets room.
WORKER_READY_SECONDS = 30
# The filesystem transport polls once a second and the e-mail is sent right after the claim.
EMAIL_ARRIVAL_SECONDS = 20
WORKER_STOP_GRACE_SECONDS = 2
# What Django's file e-mail backend writes after each message.
EMAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def worker_database_url() -> str:
    """DATABASE_URL of the database this test runs on: the runner's test database, not the real one."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        # The test settings put SQLite's test database in a file for exactly this reason.
        name = str(database["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError(f"a worker process cannot share SQLite database {name!r}")
        return f"sqlite:///{Path(name).resolve()}"
    if connection.vendor == "postgresql":
        credentials = quote(database["USER"] or "", safe="")
        if database["PASSWORD"]:
            credentials += ":" + quote(database["PASSWORD"], safe="")
        host = database["HOST"] or "127.0.0.1"
        port = database["PORT"] or 5432
        return f"postgres://{credentials}@{host}:{port}/{quote(database['NAME'], safe='')}"
    raise RuntimeError(f"no DATABASE_URL for a {connection.vendor} test database")


def closed_port() -> int:
    """A loopback port that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never answers: a broker that hangs.

    The kernel completes TCP handshakes into the backlog without accept(), so a client gets
    connected and then waits for a protocol greeting that never comes.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def unique_queue_name() -> str:
    """A queue of this test alone: a shared RabbitMQ may hold stale messages in `celery`."""
    return f"shop-test-{uuid.uuid4().hex[:12]}"


@contextmanager
def celery_app_using(broker_url: str, *, transport_options: dict | None = None,
                     queue: str | None = None) -> Iterator[None]:
    """Point this process's Celery app (the web side) at a broker, and back afterwards.

    The connection and producer pools are bound to the broker they were made for, so they are
    dropped on the way in and on the way out.
    """
    if transport_options is None and broker_url.startswith("amqp"):
        # As the settings configure RabbitMQ for the shop (publisher confirms).
        transport_options = settings.AMQP_TRANSPORT_OPTIONS
    conf = app.conf
    saved = {
        "broker_url": conf.broker_url,
        "broker_transport_options": conf.broker_transport_options,
        "task_default_queue": conf.task_default_queue,
    }
    saved_env = os.environ.get("CELERY_BROKER_URL")
    _drop_broker_pools()
    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    os.environ.pop("CELERY_BROKER_URL", None)
    conf.broker_url = broker_url
    conf.broker_transport_options = transport_options or {}
    if queue is not None:
        conf.task_default_queue = queue
    try:
        yield
    finally:
        _drop_broker_pools()
        for name, value in saved.items():
            setattr(conf, name, value)
        if saved_env is not None:
            os.environ["CELERY_BROKER_URL"] = saved_env


def _drop_broker_pools() -> None:
    # kombu keeps the pools in a process-wide registry keyed by broker URL: closing the app's
    # pools alone would leave closed pools there for the next test on the same URL.
    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def delete_queue(name: str) -> None:
    """Remove a test's queue (and its exchange of the same name) from the broker the app uses."""
    with app.connection_for_write() as broker:
        channel = broker.default_channel
        channel.queue_delete(name)
        channel.exchange_delete(name)


class Worker:
    """One `celery -A shop_project worker` subprocess; use as a context manager (or several
    with workers_running). It is always stopped on the way out and its log printed, which
    pytest shows when the test failed.
    """

    def __init__(self, *, mail_dir: Path, log_path: Path, broker_env: dict[str, str],
                 queue: str | None = None, name: str = "worker", extra_env: dict[str, str] | None = None):
        self.mail_dir = mail_dir
        self.log_path = log_path
        self.name = name
        self.command = [
            sys.executable, "-m", "celery", "-A", "shop_project", "worker",
            "--pool", "solo", "--concurrency", "1",
            # Nothing to exchange with other workers, so nothing to wait for at start.
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "INFO", "--hostname", f"{name}-{uuid.uuid4().hex[:8]}@%h",
        ]
        if queue is not None:
            self.command += ["--queues", queue]
        # extra_env last: e.g. SMTP to a server the test runs instead of the file backend.
        self.env = {**worker_environment(mail_dir=mail_dir, broker_env=broker_env), **(extra_env or {})}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Worker:
        """Started and ready to consume."""
        self.start()
        try:
            self.wait_until_ready()
        except BaseException:
            stop_workers(self)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        # Closed by stop_workers(), which every way out of a Worker goes through.
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=settings.BASE_DIR,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_until_ready(self, timeout: float = WORKER_READY_SECONDS) -> None:
        """Until the worker has connected and consumes; a worker that died fails at once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode} before it was ready")
            # Celery logs "celery@host ready." once its consumer runs.
            if " ready." in self.log():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready after {timeout} s")

    def stop(self) -> None:
        stop_workers(self)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def assert_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}")


def stop_workers(*workers: Worker) -> None:
    """Stop the workers together, and print their logs (pytest shows them if the test failed)."""
    running = [w for w in workers if w.process is not None and w.process.poll() is None]
    # A worker notices SIGTERM only when its event loop wakes, which with no timers due takes
    # up to 10 s. By now the test has seen what it waited for: nothing is left for a warm
    # shutdown to save, so a worker that is slow to go is killed.
    for worker in running:
        worker.process.terminate()
    deadline = time.monotonic() + WORKER_STOP_GRACE_SECONDS
    for worker in workers:
        if worker.process is None:
            continue
        ending = "stopped on SIGTERM" if worker in running else "had exited by itself"
        try:
            worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
            ending = f"killed, still running {WORKER_STOP_GRACE_SECONDS} s after SIGTERM"
        worker._log.close()
        print(f"----- log of {worker.name} ({ending}, exit {worker.process.returncode}): "
              f"{' '.join(worker.command)}")
        print(worker.log())
        worker.process = None


@contextmanager
def workers_running(*workers: Worker) -> Iterator[tuple[Worker, ...]]:
    """Start the workers, wait until each is ready, and stop them all on the way out."""
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_until_ready()
        yield workers
    finally:
        stop_workers(*workers)


def worker_environment(*, mail_dir: Path, broker_env: dict[str, str]) -> dict[str, str]:
    """The environment of a worker subprocess: this one, minus what would point elsewhere."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CELERY_", "DJANGO_", "PYTEST_"))}
    env.update(
        # The test settings hard-wire the in-memory e-mail backend; local reads it from here.
        DJANGO_SETTINGS_MODULE="shop_project.settings.local",
        DJANGO_DEBUG="False",
        DATABASE_URL=worker_database_url(),
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        # The worker would otherwise write uploads into the working tree.
        DJANGO_MEDIA_ROOT=str(mail_dir.parent / "worker-media"),
        PYTHONUNBUFFERED="1",
    )
    env.update(broker_env)
    return env


def sent_emails(mail_dir: Path) -> list[email.message.Message]:
    """Every e-mail the file backend has finished writing to mail_dir, oldest file first."""
    messages = []
    for path in sorted(mail_dir.glob("*.log")):
        # A message is complete once its separator line is written.
        for raw in path.read_bytes().split(EMAIL_SEPARATOR)[:-1]:
            messages.append(email.message_from_bytes(raw.strip(b"\n")))
    return messages


def wait_for_emails(mail_dir: Path, *, count: int = 1, workers: tuple[Worker, ...] = (),
                    timeout: float = EMAIL_ARRIVAL_SECONDS) -> list[email.message.Message]:
    """At least `count` e-mails in mail_dir, or an AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        messages = sent_emails(mail_dir)
        if len(messages) >= count:
            return messages
        for worker in workers:
            worker.assert_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(messages)} e-mail(s) in {mail_dir} after {timeout} s, wanted {count}")
        time.sleep(0.1)


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; that value, or an AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout} s")
        time.sleep(interval)
