"""Settings shared by every environment; the other modules import this and override."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# The one reader of the environment. Values that differ between environments come from here.
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-never-used-in-production")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.shop",
    "apps.cart",
    "apps.orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The shop speaks English only. Without translations Django needs no message catalogs, which
# keeps ~10 MB of .mo files out of the Lambda package (zappa_settings.json excludes them).
USE_I18N = False
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
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


def celery_broker_transport_options(broker_url: str) -> dict:
    scheme = broker_url.split("://", 1)[0]
    if scheme == "filesystem":
        # kombu does not create the folder, and the web process may publish before a worker starts.
        CELERY_FILESYSTEM_BROKER_DIR.mkdir(parents=True, exist_ok=True)
        folder = str(CELERY_FILESYSTEM_BROKER_DIR)
        return {"data_folder_in": folder, "data_folder_out": folder, "control_folder": folder}
    if scheme == "sqs":
        options = {
            # Bounded so that an unreachable SQS cannot hold a checkout for long; receiving
            # (long polls) goes through kombu's own asynchronous client, not this one.
            "client-config": {"connect_timeout": 1, "read_timeout": 5, "retries": {"max_attempts": 1}},
            "visibility_timeout": env.int("CELERY_SQS_VISIBILITY_TIMEOUT", default=900),
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
CELERY_BEAT_SCHEDULE = {
    "confirmations-sweep": {
        "task": "apps.orders.tasks.confirmations_sweep",
        "schedule": 300.0,
    },
}

# The shop's own settings.
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
