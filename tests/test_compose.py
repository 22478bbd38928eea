"""The docker stack (docker-compose.yml, Dockerfile, .dockerignore), checked without a Docker engine.

No engine runs here, so the stack is taken apart: `docker-compose config` validates the file and
shows how Compose reads it, and the commands its services run are run natively, read from the
file, against this machine's servers. They run in a copy of the build context (what
.dockerignore lets into the image), with the image's ENV and the service's environment; the
stack's hostnames point at 127.0.0.1, DATABASE_URL at the test database, and the SMTP port of
mailpit at a sink this test runs.

The worker consumes the `celery` queue, as in the stack: the web process publishes there and its
settings name no other. A message left there by another run is harmless to it (the tasks take
ids and claim before sending), but another consumer would take this test's message, so the test
refuses to start while one is connected.
"""

from __future__ import annotations

import email
import email.policy
import functools
import html
import http.cookiejar
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from celery.beat import PersistentScheduler
from django.conf import settings
from django.utils.html import escape
from kombu import Connection

from apps.orders.models import ConfirmationStatus, Order
from apps.orders.tests.checkout import hidden_fields
from apps.orders.tests.factories import CUSTOMER
from apps.payment.tests.cards import VISA, card_into_setup_intent
from apps.shop.models import Product
from devtools.localstripe import LocalStripe
from devtools.workers import closed_port, worker_database_url
from shop_project.celery import app as celery_app

ROOT = Path(settings.BASE_DIR)
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# The stack's RabbitMQ on this machine (db becomes the test database, mailpit an SMTP sink).
LOCAL_RABBITMQ = "127.0.0.1:5672"
# The commands find python, gunicorn and celery on PATH, as in the image.
VENV_BIN = Path(sys.executable).parent

STACK_SERVICES = {"web", "worker", "beat", "db", "rabbitmq", "mailpit", "localstripe", "localstripe-webhook"}
# What the issue asks the stack's processes to run with (besides the secret and the database).
STACK_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "shop_project.settings.production",
    # "web": the host localstripe's webhooks reach the shop at.
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,web",
    "CELERY_BROKER_URL": "amqp://guest:guest@rabbitmq:5672//",
    "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "DJANGO_EMAIL_HOST": "mailpit",
    "DJANGO_EMAIL_PORT": "1025",
    "DJANGO_SECURE_SSL_REDIRECT": "False",
    "DJANGO_SECURE_COOKIES": "False",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    # No buckets: WhiteNoise and the media volume, chosen explicitly.
    "DJANGO_STORAGE": "local",
    # localstripe: the server calls it in the stack, the browser on its published port.
    "STRIPE_API_BASE": "http://localstripe:8420",
    "STRIPE_JS_URL": "http://127.0.0.1:8420/js.stripe.com/v3/",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_localstripe",
}
LOCALSTRIPE_PIN = next(line for line in (Path(__file__).resolve().parents[1] / "requirements-dev.txt")
                       .read_text().splitlines() if line.startswith("localstripe=="))
# Importing Django and Celery and connecting, on a slow CI machine.
START_SECONDS = 30
EMAIL_ARRIVAL_SECONDS = 20
STOP_GRACE_SECONDS = 10


# --- The files, as Compose and Docker read them ------------------------------------------------


@functools.cache
def compose_config() -> dict:
    """docker-compose.yml as Compose resolves it (anchors, merges, defaults), validated."""
    binary = shutil.which("docker-compose")
    if binary is None:
        reason = "needs docker-compose (apt-get install docker-compose) to validate docker-compose.yml"
        # conftest.services_required(): CI installs docker-compose, so there it must be found.
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
        pytest.skip(reason)
    command = [binary, "--file", str(COMPOSE_FILE), "--project-directory", str(ROOT)]
    quiet = subprocess.run([*command, "config", "--quiet"], capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0, f"docker-compose config --quiet: {quiet.stderr}"
    resolved = subprocess.run([*command, "config"], capture_output=True, text=True, timeout=60, check=True)
    return yaml.safe_load(resolved.stdout)


def compose_file() -> dict:
    """docker-compose.yml as written (YAML anchors and merge keys resolved by the parser)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def service_command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def service_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {name: str(value) for name, value in environment.items()}


def published_ports(service: dict) -> dict[int, int]:
    """Host port -> container port, from either port syntax."""
    ports = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports[int(port["published"])] = int(port["target"])
        else:
            *_, host, container = str(port).split("/")[0].split(":")
            ports[int(host)] = int(container)
    return ports


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, arguments = current.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def dockerfile_env() -> dict[str, str]:
    env = {}
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, separator, value = pair.partition("=")
                assert separator, f"ENV {arguments!r}: write ENV name=value"
                env[name] = value
    return env


def dockerfile_one(keyword: str, containing: str = "") -> str:
    """The arguments of the one `keyword` instruction whose arguments contain `containing`."""
    found = [args for kw, args in dockerfile_instructions() if kw == keyword and containing in args]
    assert len(found) == 1, f"want one {keyword} with {containing!r} in the Dockerfile, found {found}"
    return found[0]


def _dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    """(is_exception, regex) per line, with Docker's pattern syntax minus character classes."""
    rules = []
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        exception = pattern.startswith("!")
        pattern = os.path.normpath(pattern.lstrip("!").strip()).lstrip("/")
        assert "[" not in pattern, f"{pattern!r}: this test reads no character classes in .dockerignore"
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((exception, re.compile(regex)))
    return rules


def excluded_from_context(relative: str, rules) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for exception, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not exception
    return excluded


def build_context_files() -> list[str]:
    """Every file `COPY . .` puts into the image, relative to the repository."""
    rules = _dockerignore_rules()
    can_prune = not any(exception for exception, _ in rules)
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        base = Path(folder).relative_to(ROOT)
        if can_prune:
            subfolders[:] = [d for d in subfolders if not excluded_from_context((base / d).as_posix(), rules)]
        paths = [(base / name).as_posix() for name in names]
        files += [path for path in paths if not excluded_from_context(path, rules)]
    return sorted(files)


# --- 1. The files themselves (no server) -----------------------------------------------------


class TestComposeFile:
    def test_compose_validates_and_runs_the_stack_of_the_issue(self):
        config = compose_config()
        services = config["services"]
        assert STACK_SERVICES <= set(services), sorted(services)

        assert published_ports(services["web"]).get(8000) == 8000
        assert published_ports(services["mailpit"]).get(8025) == 8025
        assert published_ports(services["rabbitmq"]).get(15672) == 15672

        app_services = ["web", "worker", "beat"]
        assert len({services[name]["image"] for name in app_services}) == 1
        assert len({repr(services[name]["build"]) for name in app_services}) == 1
        assert service_command(services["worker"])[:4] == ["celery", "-A", "shop_project", "worker"]
        assert service_command(services["beat"])[:4] == ["celery", "-A", "shop_project", "beat"]
        assert service_command(services["web"])[0] == "gunicorn"

        for name in [*app_services, "migrate"]:
            environment = service_environment(services[name])
            assert environment.items() >= STACK_ENVIRONMENT.items(), name
            assert "local" in environment["DJANGO_SECRET_KEY"], "a secret that says it is for local use"
            assert urllib.parse.urlsplit(environment["DATABASE_URL"]).hostname == "db"
            # No bucket: WhiteNoise and the media volume, which the production settings then serve.
            assert not {"DJANGO_STATIC_BUCKET", "DJANGO_MEDIA_BUCKET"} & set(environment)
            assert environment["STRIPE_SECRET_KEY"].startswith("sk_test_")
            assert environment["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")

    def test_localstripe_runs_the_pinned_fake_stripe_and_gets_the_shops_webhook(self):
        services = compose_config()["services"]
        localstripe = services["localstripe"]
        assert localstripe["image"].startswith("python:3.11")
        install, run = localstripe_command(localstripe)
        assert f"pip install --quiet --no-cache-dir {LOCALSTRIPE_PIN}" in install
        assert run[:3] == ["localstripe", "--port", "8420"]
        assert published_ports(localstripe).get(8420) == 8420
        assert localstripe["healthcheck"]["test"]
        webhook = services["localstripe-webhook"]
        assert service_command(webhook)[:5] == ["python", "manage.py", "localstripe_webhook", "--shop",
                                                "http://web:8000"]
        assert webhook["depends_on"]["localstripe"]["condition"] == "service_healthy"
        assert webhook.get("restart") == "no"

    def test_migrations_and_seed_run_once_before_the_web_starts(self):
        services = compose_config()["services"]
        assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
        assert "migrate" in service_command(services["migrate"])[-1]
        assert "seed_catalog" in service_command(services["migrate"])[-1]
        for name in ["web", "worker"]:
            assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services["migrate"].get("restart") == "no"

    def test_database_and_broker_are_checked_healthy_and_keep_their_data(self):
        services = compose_config()["services"]
        assert services["db"]["image"].startswith("postgres:15")
        assert any(":/var/lib/postgresql/data" in str(volume) for volume in services["db"]["volumes"])
        assert "management" in services["rabbitmq"]["image"]
        for name in ["db", "rabbitmq"]:
            assert services[name]["healthcheck"]["test"], name

    def test_environment_is_written_once_with_no_version_key(self):
        written = compose_file()
        assert "version" not in written, "the Compose specification has no version key"
        assert any(key.startswith("x-") for key in written), "shared settings in an x- extension field"
        assert COMPOSE_FILE.read_text().count("DJANGO_SECRET_KEY:") == 1


class TestDockerfile:
    def test_image_is_slim_python_installs_the_container_requirements_and_runs_unprivileged(self):
        images = [args.split()[0] for kw, args in dockerfile_instructions() if kw == "FROM"]
        assert images == ["python:3.11-slim"]
        assert "-r requirements-container.txt" in dockerfile_one("RUN", "pip install")
        users = [args for kw, args in dockerfile_instructions() if kw == "USER"]
        assert users and users[-1].split(":")[0] not in {"root", "0"}
        requirements = (ROOT / "requirements-container.txt").read_text()
        assert re.search(r"^gunicorn==", requirements, re.M)
        assert re.search(r"^whitenoise==", requirements, re.M)
        assert dockerfile_env()["DJANGO_SETTINGS_MODULE"] == "shop_project.settings.production"

    def test_build_context_holds_the_code_and_no_local_state_or_secrets(self):
        files = set(build_context_files())
        assert {"manage.py", "requirements.txt", "requirements-container.txt", "static/css/base.css",
                "shop_project/settings/production.py", "shop_project/wsgi.py"} <= files
        leaked = [f for f in files if f.split("/")[0] in {".git", ".venv", "media", "var", "staticfiles",
                                                         "tests", "bench", "devtools"}
                  or f in {".env", "db.sqlite3"} or "__pycache__" in f]
        assert not leaked, leaked[:10]


# --- 2. The services' commands, run natively ---------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps every message it is given (mailpit's part in the stack)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class Service:
    """One service's command as a local process in its own process group; stopped on exit,
    and its output printed (pytest shows it when the test failed)."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, log_dir: Path):
        self.name, self.command, self.env, self.cwd = name, command, env, cwd
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Service:
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def __exit__(self, *exc_info) -> None:
        ending = f"had exited with {self.process.returncode}" if self.process.poll() is not None else ""
        if not ending:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
                ending = f"stopped on SIGTERM, exit {self.process.returncode}"
            except subprocess.TimeoutExpired:
                ending = f"killed, still running {STOP_GRACE_SECONDS} s after SIGTERM"
        # Children (gunicorn's and the worker's pools) go with the group, which this test made.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self._log.close()
        print(f"----- {self.name} ({ending}): {shlex.join(self.command)}\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = START_SECONDS) -> None:
        self.wait_until(lambda: text in self.log(), f"{text!r} in its log", timeout)

    def wait_until(self, condition, what: str, timeout: float = START_SECONDS):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode} before {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {what} after {timeout} s")
            time.sleep(0.1)


class Browser:
    """urllib with cookies and without following redirects: a shopper's view of the web service."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        no_redirects = type("NoRedirects", (urllib.request.HTTPRedirectHandler,),
                            {"redirect_request": lambda *args, **kwargs: None})
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), no_redirects)

    def get(self, path: str):
        return self._open(urllib.request.Request(self.base_url + path))

    def post(self, path: str, form: dict, *, csrf_from: str):
        """POST the form with the CSRF token of the page it came from, and the Origin a browser sends."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', csrf_from).group(1)
        body = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": token}).encode()
        return self._open(urllib.request.Request(self.base_url + path, data=body,
                                                 headers={"Origin": self.base_url}))

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()


def build_image_tree(destination: Path) -> None:
    """What the Dockerfile builds, natively: the context copied, then its catalogs and collectstatic step."""
    for relative in build_context_files():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    collectstatic = dockerfile_one("RUN", "collectstatic")
    result = subprocess.run(
        ["sh", "-c", collectstatic], cwd=destination, env=host_environment(dockerfile_env()),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, f"{collectstatic}\n{result.stdout}\n{result.stderr}"
    assert (destination / "staticfiles" / "staticfiles.json").exists()
    # The catalogs, compiled at the build from the .po files (.dockerignore leaves local .mo out).
    assert (destination / "locale" / "ko" / "LC_MESSAGES" / "django.mo").exists()


def localstripe_command(service: dict) -> tuple[str, list[str]]:
    """The localstripe service's `sh -c "pip install … && exec localstripe …"`: what it installs
    into the python image, and the command it then runs (which this machine's venv has)."""
    command = service_command(service)
    assert command[:2] == ["sh", "-c"], command
    install, separator, run = command[2].partition("&& exec ")
    assert separator, command
    return install, shlex.split(run)


def host_environment(image_env: dict[str, str]) -> dict[str, str]:
    """This machine's environment minus what would point elsewhere, plus the image's ENV."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DJANGO_", "CELERY_", "PYTEST_", "AWS_"))
           and name not in {"DATABASE_URL", "EMAIL_FILE_PATH", "PYTHONPATH"}}
    env.update(image_env)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def stack_environment(service: dict, *, image_root: Path, smtp_port: int,
                      localstripe_port: int) -> dict[str, str]:
    """The service's environment from the compose file, with the stack's hosts on this machine."""
    compose_env = service_environment(service)
    workdir = dockerfile_one("WORKDIR")
    assert "@rabbitmq:5672/" in compose_env["CELERY_BROKER_URL"]
    assert compose_env["DJANGO_EMAIL_HOST"] == "mailpit"
    assert urllib.parse.urlsplit(compose_env["DATABASE_URL"]).hostname == "db"
    compose_env.update(
        DATABASE_URL=worker_database_url(),
        CELERY_BROKER_URL=compose_env["CELERY_BROKER_URL"].replace("@rabbitmq:5672/", f"@{LOCAL_RABBITMQ}/"),
        DJANGO_EMAIL_HOST="127.0.0.1",
        DJANGO_EMAIL_PORT=str(smtp_port),
    )
    for name in ("STRIPE_API_BASE", "STRIPE_JS_URL"):
        if name in compose_env:
            local = compose_env[name].replace("//localstripe:8420", f"//127.0.0.1:{localstripe_port}")
            compose_env[name] = local.replace("//127.0.0.1:8420", f"//127.0.0.1:{localstripe_port}")
    # Paths in the image (the media volume) are under the copy of the build context.
    for name, value in compose_env.items():
        if value == workdir or value.startswith(workdir + "/"):
            compose_env[name] = str(image_root) + value[len(workdir):]
    return {**host_environment(dockerfile_env()), **compose_env}


def with_option(command: list[str], option: str, value: str) -> list[str]:
    assert option in command, f"{option} not in {command}"
    index = command.index(option) + 1
    return [*command[:index], value, *command[index + 1:]]


def assert_no_other_consumer_of_the_celery_queue() -> None:
    with Connection(f"amqp://guest:guest@{LOCAL_RABBITMQ}//", connect_timeout=5) as broker:
        channel = broker.channel()
        try:
            _, _, consumers = channel.queue_declare("celery", passive=True)
        except broker.channel_errors:
            return  # no queue, so no consumer
        assert consumers == 0, (
            f"{consumers} consumer(s) already on the `celery` queue of {LOCAL_RABBITMQ}: "
            "a worker outside this test would take its messages; stop it first")


def due_schedule_file(path: Path, entry: str) -> None:
    """A beat schedule file in which `entry` last ran an hour ago: the beat sends it on start."""
    scheduler = PersistentScheduler(app=celery_app, schedule_filename=str(path))
    try:
        scheduler.schedule[entry].last_run_at = celery_app.now() - timedelta(hours=1)
    finally:
        scheduler.close()


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.django_db(transaction=True)
def test_stack_commands_serve_the_shop_and_send_the_confirmation_and_invoice(tmp_path):
    services = compose_file()["services"]
    image_root = tmp_path / "app"
    build_image_tree(image_root)
    smtp_port = closed_port()
    inbox = Inbox()
    log_dir = tmp_path / "logs"
    log_dir.mkdir()

    localstripe_port = closed_port()

    def env_of(name):
        return stack_environment(services[name], image_root=image_root, smtp_port=smtp_port,
                                 localstripe_port=localstripe_port)

    def run_once(name):
        result = subprocess.run(service_command(services[name]), cwd=image_root, env=env_of(name),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
        return result.stdout

    # The one-shot step, twice: `docker compose up` runs it on every start.
    assert "Created 48 products" in run_once("migrate")
    assert "nothing to do" in run_once("migrate")
    assert Product.objects.count() == 48

    port = closed_port()
    web_command = with_option(service_command(services["web"]), "--bind", f"127.0.0.1:{port}")
    assert_no_other_consumer_of_the_celery_queue()
    with ExitStack() as stack:
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        stack.callback(controller.stop)
        _, localstripe_run = localstripe_command(services["localstripe"])
        localstripe = stack.enter_context(Service(
            "localstripe", with_option(localstripe_run, "--port", str(localstripe_port)),
            env=host_environment({}), cwd=image_root, log_dir=log_dir))
        web = stack.enter_context(Service("web", web_command, env=env_of("web"),
                                          cwd=image_root, log_dir=log_dir))
        worker = stack.enter_context(Service("worker", service_command(services["worker"]),
                                             env=env_of("worker"), cwd=image_root, log_dir=log_dir))
        browser = Browser(f"http://127.0.0.1:{port}")

        def answers():
            try:
                return browser.get("/en/")
            except OSError:
                return None

        status, _, body = web.wait_until(answers, "answer on /")
        page = body.decode()
        assert status == 200
        assert escape(Product.objects.order_by("name_en").first().name) in page

        # WhiteNoise: the hashed name collectstatic wrote, cached for good.
        css = re.search(r'href="(/static/css/base\.[0-9a-f]{12}\.css)"', page)
        assert css, "no hashed stylesheet on /"
        status, headers, body = browser.get(css.group(1))
        assert status == 200 and headers["Content-Type"].startswith("text/css")
        assert body == (image_root / "staticfiles" / css.group(1).removeprefix("/static/")).read_bytes()
        assert "immutable" in headers["Cache-Control"]

        # The product images, from the media folder (the volume in the stack).
        image_url = re.search(r'src="(/media/[^"]+)"', page).group(1)
        status, _, image = browser.get(image_url)
        assert status == 200
        image_file = image_root / "media" / urllib.parse.unquote(image_url.removeprefix("/media/"))
        assert image == image_file.read_bytes()

        # A checkout as a browser makes it: token from each form, the session and CSRF cookies.
        product_path = re.search(r'<a class="product-name" href="(/en/\d+/[^"]+/)"', page).group(1)
        _, _, product_page = browser.get(product_path)
        add_path = re.search(r'action="(/en/cart/add/\d+/)"', product_page.decode()).group(1)
        status, _, body = browser.post(add_path, {"quantity": "1", "override": "False"},
                                       csrf_from=product_page.decode())
        assert status == 302, body.decode()[:2000]
        _, _, order_form = browser.get("/en/orders/create/")
        shown = {"shown": hidden_fields(order_form.decode())["shown"]}  # what the page showed
        status, headers, body = browser.post("/en/orders/create/", {**CUSTOMER, **shown},
                                             csrf_from=order_form.decode())
        assert status == 302, body.decode()[:2000]
        order = Order.objects.get()
        assert headers["Location"] == f"/en/payment/process/?order={order.id}"
        status, _, thanks = browser.get(f"/en/orders/created/{order.id}/")
        assert status == 200 and f'<strong class="order-number">{order.id}</strong>' in thanks.decode()

        # The payment page, its PaymentIntent made at the stack's localstripe; on submit the form
        # asks for a SetupIntent, the card goes into it as its Stripe.js sends it, then the page
        # posts the PaymentMethod.
        webhook = service_command(services["localstripe-webhook"])
        webhook = with_option(webhook, "--shop", f"http://127.0.0.1:{port}")
        registered = subprocess.run(webhook, cwd=image_root, env=env_of("localstripe-webhook"),
                                    capture_output=True, text=True, timeout=120)
        assert registered.returncode == 0, registered.stderr
        assert f"posts its events to http://127.0.0.1:{port}/payment/webhook/" in registered.stdout
        status, _, payment_page = browser.get(headers["Location"])
        assert status == 200, payment_page.decode()[:2000]
        setup_url = html.unescape(re.search(r'data-setup-url="([^"]+)"', payment_page.decode()).group(1))
        status, _, setup = browser.post(setup_url, {}, csrf_from=payment_page.decode())
        assert status == 200, setup.decode()[:2000]
        secret = json.loads(setup)["client_secret"]
        local = LocalStripe(api_base=f"http://127.0.0.1:{localstripe_port}")
        method = card_into_setup_intent(local, secret, VISA)
        status, headers, _ = browser.post(headers["Location"], {"payment_method": method},
                                          csrf_from=payment_page.decode())
        assert (status, headers["Location"]) == (302, f"/en/payment/completed/?order={order.id}")
        status, _, completed = browser.get(headers["Location"])
        assert status == 200 and "Your order is paid" in completed.decode()
        assert localstripe.process.poll() is None

        # The worker sends the confirmation (published at checkout) and the invoice (published
        # at payment) over SMTP, where the stack has mailpit; the invoice, with its PDF, often
        # lands seconds after the confirmation, so the test waits for both.
        worker.wait_until(lambda: len(inbox.messages) >= 2, "both e-mails at the SMTP sink",
                          EMAIL_ARRIVAL_SECONDS)
        assert [message["To"] for message in inbox.messages] == [CUSTOMER["email"]] * 2
        assert sorted(message["Subject"] for message in inbox.messages) == [
            f"My Shop - Invoice no. {order.id}", f"Your order {order.id} at My Shop"]

        def sent():
            order.refresh_from_db()
            return (order.confirmation_status, order.invoice_status) == (ConfirmationStatus.SENT,) * 2

        # The worker records each send just after its SMTP conversation ends.
        worker.wait_until(sent, f"order {order.id} confirmation and invoice {ConfirmationStatus.SENT}",
                          EMAIL_ARRIVAL_SECONDS)

        # The beat, on a schedule whose sweep is due, sends it to the worker.
        schedule = tmp_path / "celerybeat-schedule"
        due_schedule_file(schedule, "confirmations-sweep")
        beat_command = with_option(service_command(services["beat"]), "--schedule", str(schedule))
        with Service("beat", beat_command, env=env_of("beat"), cwd=image_root, log_dir=log_dir) as beat:
            beat.wait_for_log("beat: Starting...")
            beat.wait_for_log("Scheduler: Sending due task confirmations-sweep")
            worker.wait_until(lambda: re.search(r"confirmations_sweep\[[0-9a-f-]+\] succeeded", worker.log()),
                              "sweep run by the worker")
            assert "Traceback" not in beat.log() and "ERROR" not in beat.log()
        assert "Traceback" not in worker.log()
        assert len(inbox.messages) == 2  # the sweep sent nothing twice
