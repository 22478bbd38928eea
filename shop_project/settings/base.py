"""Settings shared by every environment; the other modules import this and override."""

import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from shop_project.startup import hold_collector

# Until every app is ready: shop_project/startup.py says why.
hold_collector()

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class SetVariables(Mapping):
    """os.environ without the variables set to the empty string.

    `NAME=` in an env file, a compose file or a Lambda's configuration means "not set" to the
    person who wrote it; read as "" it would override the default with an empty value (an
    empty DJANGO_STATIC_DOMAIN used to make every S3 URL cost a boto3 client).
    """

    def __getitem__(self, name: str) -> str:
        value = os.environ[name]
        if value == "":
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name, value in os.environ.items() if value != "")

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Env(environ.Env):
    """django-environ's reader, for which a variable set to the empty string is unset."""

    ENVIRON = SetVariables()

    def verbatim(self, name: str) -> str:
        """The variable exactly as set, for secrets: env() reads a value starting with "$" as the
        name of another variable, and a random secret key may start with one."""
        try:
            return self.ENVIRON[name]
        except KeyError as missing:
            raise ImproperlyConfigured(f"Set the {name} environment variable") from missing


# The one reader of the environment. Values that differ between environments come from here.
# No SECRET_KEY here: local and test have one of their own, production insists on the variable.
env = Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "apps.shop",
    "apps.cart",
    "apps.orders",
    "apps.payment",
    "apps.coupons",
    "apps.recommendations",
    # Last: its ready() gives the garbage collector back the thresholds the settings raised (startup.py).
    "shop_project.startup.StartupConfig",
]

MIDDLEWARE = [
    # First: its line's duration and status cover every other middleware (shop_project/logs.py).
    "shop_project.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (it may read it), before CommonMiddleware (whose slash redirects need the
    # language's URLs). Old unprefixed URLs redirect to the prefixed ones (shop_project/languages.py).
    "shop_project.languages.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before any view reads request.POST (the CSRF check's process_view does), after the
    # security headers' middleware so that its 400 page gets them: a body Django refuses.
    "shop_project.middleware.UnreadableBodyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# Database sessions, each write one statement (shop_project/sessions.py).
SESSION_ENGINE = "shop_project.sessions"
# The language a shopper picked with the header's switcher, for later visits to unprefixed URLs
# (LocaleMiddleware reads it before Accept-Language). The URL's prefix always wins.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"

ROOT_URLCONF = "shop_project.urls"
WSGI_APPLICATION = "shop_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.cart.context_processors.cart",
            ],
            "libraries": {"languages": "shop_project.templatetags.languages",
                          "marks": "shop_project.templatetags.marks"},
        },
    },
]


def shop_database(config: dict) -> dict:
    """A database of DATABASE_URL's, on the shop's PostgreSQL backend where it is PostgreSQL:
    Django's, with the connection health check skipped right after a request's answers
    (shop_project/postgresql/base.py says why that is safe)."""
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "shop_project.postgresql"
    return config


DATABASES = {
    "default": shop_database(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # With `make run` the web process and the worker write at the same time. SQLite's default
    # (deferred) transactions then fail at once with "database is locked" when a read turns into
    # a write; IMMEDIATE takes the write lock at BEGIN and waits for it instead, and WAL lets
    # readers go on meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE", timeout=20, init_command="PRAGMA journal_mode=WAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin logins are throttled (django-axes): 10 failures in a row for one username from one
# address lock that pair out for 15 minutes, even with the right password; the same user from
# another address, and other users, can still log in. A success clears the count. The address
# is REMOTE_ADDR, which Zappa sets from API Gateway's sourceIp and gunicorn from the socket;
# X-Forwarded-For is not read, since a client can write anything there. Staff unlock a pair
# early by deleting its "access attempt" in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True


def content_security_policy(*, static_origin: str, media_origin: str, stripe_js_url: str) -> dict:
    """The Content-Security-Policy (django-csp): what the shop's and the admin's pages load.

    The pages load the shop's stylesheet and images and the admin's stylesheets, scripts and
    icons from STATIC_URL, product images from MEDIA_URL, and submit forms to the shop itself.
    No page has an inline script, inline style or event-handler attribute, and none may be
    framed. The admin's scripts fetch from the same origin (autocomplete). The payment page
    loads Stripe.js from `stripe_js_url`, which draws its frames and calls Stripe's API
    (stripe_js_sources). Everything else is refused.
    """
    static, media = dict.fromkeys([SELF, static_origin]), dict.fromkeys([SELF, static_origin, media_origin])
    stripe_js = stripe_js_sources(stripe_js_url)
    return {
        "DIRECTIVES": {
            "default-src": [NONE],
            "script-src": [*static, *stripe_js["script-src"]],
            "style-src": [*static],
            "img-src": [*media],
            "connect-src": [SELF, *stripe_js["connect-src"]],
            "frame-src": [*stripe_js["frame-src"]] or [NONE],
            "form-action": [SELF],
            "base-uri": [NONE],
            "frame-ancestors": [NONE],
        },
    }


STRIPE_JS_ORIGIN = "https://js.stripe.com"


def stripe_js_sources(stripe_js_url: str) -> dict[str, list[str]]:
    """What Stripe.js served from `stripe_js_url` needs in the policy (STRIPE_JS_SOURCES).

    Stripe's own (docs.stripe.com/security/guide#content-security-policy): its script and the
    frames of the card element and of 3-D Secure from js.stripe.com and hooks.stripe.com, calls
    to api.stripe.com. localstripe's stand-in serves the script and answers the calls from one
    origin (the one STRIPE_JS_URL names), and draws no frame.
    """
    parts = urlsplit(stripe_js_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin == STRIPE_JS_ORIGIN:
        return {
            "script-src": [STRIPE_JS_ORIGIN, "https://*.js.stripe.com"],
            "frame-src": [STRIPE_JS_ORIGIN, "https://*.js.stripe.com", "https://hooks.stripe.com"],
            "connect-src": ["https://api.stripe.com"],
        }
    return {"script-src": [origin], "frame-src": [origin], "connect-src": [origin]}


AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Django serves uploaded files itself only in development, or where no bucket holds them.
SERVE_MEDIA = False

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="My Shop <shop@example.com>")
# Seconds per SMTP socket operation. Without it a mail server that accepts and never greets
# holds a worker forever; this keeps a send well inside the task's soft time limit.
EMAIL_TIMEOUT = 5

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # fontTools logs every table it subsets, and warns of the font-editor tables it drops: a
        # dozen lines per invoice PDF that say nothing about the shop.
        "fontTools": {"level": "ERROR"},
        # The per-request and per-task lines are for CloudWatch (production's LOGGING); in a
        # terminal, runserver and `celery worker` already print their own.
        **{name: {"level": "WARNING"} for name in ("shop_project.request", "shop_project.task")},
    },
}

# Celery. The broker is chosen by CELERY_BROKER_URL's scheme:
#   amqp://...  RabbitMQ (the docker stack);
#   sqs://      Amazon SQS, on the queue CELERY_SQS_QUEUE_URL names (AWS; moto in tests);
#   unset       an embedded broker, kombu's filesystem transport, that needs no server (make run).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_SQS_QUEUE_URL = env("CELERY_SQS_QUEUE_URL", default="")
CELERY_FILESYSTEM_BROKER_DIR = Path(
    env("CELERY_FILESYSTEM_BROKER_DIR", default=str(BASE_DIR / "var" / "broker"))
)
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Seconds a message received by `celery worker` on SQS stays hidden from other consumers; at
# least six times the worker Lambda's timeout (tests/test_time_limits.py), like the queue's own.
CELERY_SQS_VISIBILITY_TIMEOUT = env.int("CELERY_SQS_VISIBILITY_TIMEOUT", default=900)
# RabbitMQ: publisher confirms. A publish returns once the broker has the message, and raises
# when it does not (a dead connection, a nack): an order is marked queued only then.
AMQP_TRANSPORT_OPTIONS = {"confirm_publish": True}


def celery_broker_transport_options(broker_url: str) -> dict:
    scheme = broker_url.split("://", 1)[0]
    if scheme == "filesystem":
        # The folder is made by shop_project.celery when the app is configured, not here.
        folder = str(CELERY_FILESYSTEM_BROKER_DIR)
        return {"data_folder_in": folder, "data_folder_out": folder, "control_folder": folder}
    if scheme == "sqs":
        options = {
            # Bounded so that an unreachable SQS cannot hold a checkout for long; receiving
            # (long polls) goes through kombu's own asynchronous client, not this one.
            "client-config": {"connect_timeout": 1, "read_timeout": 5, "retries": {"max_attempts": 1}},
            "visibility_timeout": CELERY_SQS_VISIBILITY_TIMEOUT,
            "wait_time_seconds": 10,
            # How long a worker whose prefetch is full waits before it polls again. kombu's 1 s
            # caps a worker at (prefetch count) tasks a second; an empty queue is long-polled
            # (wait_time_seconds), so a short interval costs no extra requests then.
            "polling_interval": 0.1,
        }
        if CELERY_SQS_QUEUE_URL:
            # A predefined queue: the workers need no ListQueues or CreateQueue permission.
            options["predefined_queues"] = {CELERY_TASK_DEFAULT_QUEUE: {"url": CELERY_SQS_QUEUE_URL}}
        return options
    if scheme in ("amqp", "pyamqp"):
        return dict(AMQP_TRANSPORT_OPTIONS)
    return {}


CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker_transport_options(CELERY_BROKER_URL)
# A broker that is down must not hold a checkout: connect briefly, retry little (see
# apps.orders.services.PUBLISH_RETRY_POLICY), and leave the rest to the sweep.
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran: a worker that dies mid-task leaves the message to be
# delivered again, which the tasks' idempotency makes safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Below the worker Lambda's 30 s timeout (zappa_settings.json), so a task is stopped, and its
# claim released for the retry, before Lambda kills the invocation. The soft limit raises
# SoftTimeLimitExceeded in the task (`celery worker`'s prefork pool, and the worker Lambda);
# the hard one kills a prefork child that ignored it.
CELERY_TASK_SOFT_TIME_LIMIT = 20
CELERY_TASK_TIME_LIMIT = 25
CELERY_BEAT_SCHEDULE = {
    "confirmations-sweep": {
        "task": "apps.orders.tasks.confirmations_sweep",
        "schedule": 300.0,
    },
    # On AWS both sweeps run from the one scheduled rule (apps.orders.lambda_handlers).
    "invoices-sweep": {
        "task": "apps.payment.tasks.invoices_sweep",
        "schedule": 300.0,
    },
    # Unpaid orders past SHOP_PAYMENT_TIMEOUT_MINUTES: on AWS Zappa's schedule runs it instead
    # (apps.payment.lambda_handlers, zappa_settings.json).
    "payment-expiry-sweep": {
        "task": "apps.payment.tasks.payment_expiry_sweep",
        "schedule": 60.0,
    },
}

# The shop's own settings.
# A worker that claimed a confirmation and vanished (killed, timed out) holds it this long;
# then another may send it again. Far longer than a send can take (the task's time limits).
SHOP_CONFIRMATION_LEASE_SECONDS = env.int("SHOP_CONFIRMATION_LEASE_SECONDS", default=900)

# Payments (Stripe, apps/payment). Local and test talk to localstripe (STRIPE_API_BASE), whose
# keys are any "sk_test_…"/"pk_test_…" strings; production reads the real ones, with no default.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_localstripe")
# Unset: Stripe itself. `make run` and the tests: localstripe on http://127.0.0.1:8420.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# Every request names the API version the shop was written and tested against (test_data/
# holds objects recorded from it), whatever the account's default: an upgrade is a code change.
STRIPE_API_VERSION = "2026-10-28.endive"
# Seconds per request to Stripe, and how many times the SDK retries a failed one (it sends an
# idempotency key with each retry of a POST).
STRIPE_TIMEOUT_SECONDS = 10
STRIPE_MAX_NETWORK_RETRIES = 2
# The currency every price is in (ISO 4217, lower case as Stripe writes it).
SHOP_CURRENCY = env("SHOP_CURRENCY", default="usd").lower()
# An order not paid this long after checkout is cancelled and its stock put back.
SHOP_PAYMENT_TIMEOUT_MINUTES = env.int("SHOP_PAYMENT_TIMEOUT_MINUTES", default=30)
# Open unpaid orders one e-mail address, or one session, may hold: one client cannot reserve
# the whole catalog by checking out and never paying.
SHOP_MAX_UNPAID_ORDERS = env.int("SHOP_MAX_UNPAID_ORDERS", default=3)

# What Stripe.js needs of the policy, from STRIPE_JS_URL's origin. Local and test serve static
# files and images from the shop's own origin; production, with the buckets, names their
# domains (shop_project/settings/production.py), and local and test point STRIPE_JS_URL at
# localstripe: each settings module that changes one of them computes the policy again.
STRIPE_JS_SOURCES = stripe_js_sources(STRIPE_JS_URL)
CONTENT_SECURITY_POLICY = content_security_policy(
    static_origin=SELF, media_origin=SELF, stripe_js_url=STRIPE_JS_URL)

CART_SESSION_ID = "cart"
# A shopper can hold at most this many units of one product in the cart.
CART_MAX_QUANTITY_PER_PRODUCT = 20
PRODUCTS_PER_PAGE = 12
# How long the catalog pages (list, detail) may show a product or price the admin has changed.
CATALOG_CACHE_SECONDS = env.int("DJANGO_CATALOG_CACHE_SECONDS", default=60)
# Each process keeps its own cache (a Lambda container, a gunicorn worker): no server to run.
# Big enough for every product page of a 10,000-product catalog.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
}
