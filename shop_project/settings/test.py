"""Settings for pytest: SQLite unless DATABASE_URL names a server (CI sets PostgreSQL)."""

import tempfile
from pathlib import Path

from csp.constants import SELF

from .base import *  # noqa: F403
from .base import DATABASES, celery_broker_transport_options, content_security_policy, env, stripe_js_sources

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-test-key-for-pytest-only-never-used-in-production")
DEBUG = False
# Hashing passwords properly only slows the suite down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# Uploaded and generated images go to a throwaway folder, never into the working tree.
MEDIA_ROOT = tempfile.mkdtemp(prefix="shop-test-media-")
# A file, not SQLite's usual in-memory test database, so that worker processes started by
# the broker tests see the orders the test made.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(MEDIA_ROOT) / "test-db.sqlite3")}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tests of checkout place many unpaid orders from one address (factories.CUSTOMER); the cap on
# them is tested on its own, with its own limit (apps/orders/tests/test_unpaid_orders_cap.py).
SHOP_MAX_UNPAID_ORDERS = env.int("SHOP_MAX_UNPAID_ORDERS", default=1_000_000)

# In-process broker: a test that commits an order publishes its confirmation to memory. The
# broker tests start real workers with their own CELERY_BROKER_URL.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker_transport_options(CELERY_BROKER_URL)

# Never Stripe itself: localstripe, as under `make run`. The `localstripe` fixture
# (tests/support/stripe.py) points these, and the policy, at the server the tests start.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_JS_URL = env("STRIPE_JS_URL", default=f"{STRIPE_API_BASE}/js.stripe.com/v3/")
STRIPE_JS_SOURCES = stripe_js_sources(STRIPE_JS_URL)
CONTENT_SECURITY_POLICY = content_security_policy(
    static_origin=SELF, media_origin=SELF, stripe_js_url=STRIPE_JS_URL)
