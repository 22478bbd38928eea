"""Settings for AWS Lambda (through Zappa) and the docker stack.

Every value comes from the environment (see .env.example); a variable set to the empty string
counts as unset. On Lambda, the secrets come from Secrets Manager at cold start
(DJANGO_SECRETS_ID); DJANGO_STORAGE=s3 puts static files and product images on S3; e-mail goes
through SES. The docker stack runs the same settings with local stand-ins: DJANGO_STORAGE=local
(WhiteNoise serves static files, a volume holds media), SMTP to a mail catcher. What cannot
work stops the process at start with a message that names the variable.
"""

from botocore.config import Config
from csp.constants import SELF
from django.core.exceptions import ImproperlyConfigured

from shop_project.aws_secrets import secrets_into_environment
from shop_project.logs import JSON_FORMATTER

from .base import *  # noqa: F403
from .base import CELERY_SQS_QUEUE_URL, MIDDLEWARE, STRIPE_JS_URL, content_security_policy, env, shop_database

secrets_into_environment(env("DJANGO_SECRETS_ID", default=""))

# Lambda sets this for every function; the checks below refuse what cannot work there.
ON_LAMBDA = env("AWS_LAMBDA_FUNCTION_NAME", default="") != ""

DEBUG = False
# As Django's deploy check (security.W009) asks: a short or repetitive key can be guessed.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT_CHARACTERS = 5
# Keys that are long enough but written down for all to read: .env.example's placeholder, and
# the prefix of the key `django-admin startproject` writes (Django's W009 refuses it too).
SECRET_KEY_PLACEHOLDER_PREFIXES = ("change-me", "django-insecure-")


def checked_secret_key(key: str) -> str:
    if key.startswith(SECRET_KEY_PLACEHOLDER_PREFIXES):
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is a placeholder ({key[:9]}...): set a key of your own, e.g. from "
            "python -c 'from django.core.management.utils import get_random_secret_key as k; print(k())'"
        )
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_DISTINCT_CHARACTERS:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is too weak ({len(key)} characters, {len(set(key))} different): "
            f"production needs at least {SECRET_KEY_MIN_LENGTH} random characters, e.g. from "
            "python -c 'from django.core.management.utils import get_random_secret_key as k; print(k())'"
        )
    return key


# No default: a missing secret must stop the process at start, not run with a known key.
SECRET_KEY = checked_secret_key(env.verbatim("DJANGO_SECRET_KEY"))
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# A leading dot allows every subdomain (e.g. ".execute-api.eu-west-1.amazonaws.com").
CSRF_TRUSTED_ORIGINS = [
    f"https://*{host}" if host.startswith(".") else f"https://{host}" for host in ALLOWED_HOSTS
]

# Database ------------------------------------------------------------------------------------
DATABASES = {"default": shop_database(env.db("DATABASE_URL"))}
# A Lambda container serves one request at a time and may live for hours: keep its connection
# between invocations (saving a TLS handshake per request), check it before reuse after a
# freeze, and close it after a minute idle. Past a few hundred containers, put RDS Proxy between.
# The check is skipped for a connection that answered less than a second ago (the shop's backend,
# shop_project/postgresql/base.py): its round trip was a quarter of a cart page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Static files and media ----------------------------------------------------------------------
# Chosen, never guessed from which variables happen to be set:
#   s3     the buckets DJANGO_STATIC_BUCKET and DJANGO_MEDIA_BUCKET (AWS);
#   local  WhiteNoise serves the collected static files, Django the images in DJANGO_MEDIA_ROOT
#          (the docker stack). Not on Lambda: its disk is read-only and lost with the container.
STORAGE = env("DJANGO_STORAGE")
if STORAGE not in ("s3", "local"):
    raise ImproperlyConfigured(f"DJANGO_STORAGE={STORAGE!r}: choose s3 (the buckets) or local "
                               "(WhiteNoise and DJANGO_MEDIA_ROOT)")
if ON_LAMBDA and STORAGE != "s3":
    raise ImproperlyConfigured("DJANGO_STORAGE=local cannot work on AWS Lambda (a read-only disk, lost "
                               "with each container): set DJANGO_STORAGE=s3 and the two buckets")
BUCKET_VARIABLES = ("DJANGO_STATIC_BUCKET", "DJANGO_MEDIA_BUCKET")
if STORAGE == "s3":
    _missing = [name for name in BUCKET_VARIABLES if not env(name, default="")]
    if _missing:
        raise ImproperlyConfigured(f"DJANGO_STORAGE=s3 needs {' and '.join(_missing)}")
    # The buckets are private, read only by the CloudFront distribution (infra/template.yaml):
    # on AWS a file linked by its bucket's own domain answers 403, so a stage must name the
    # distribution's. `make infra` writes both variables from the stack's outputs.
    _no_domain = [name for name in ("DJANGO_STATIC_DOMAIN", "DJANGO_MEDIA_DOMAIN")
                  if not env(name, default="")]
    if ON_LAMBDA and _no_domain:
        raise ImproperlyConfigured(f"on AWS Lambda {' and '.join(_no_domain)} must name the CloudFront "
                                   "distribution (the buckets are private): run make infra STAGE=...")
    STATIC_BUCKET = env("DJANGO_STATIC_BUCKET")
    MEDIA_BUCKET = env("DJANGO_MEDIA_BUCKET")
    _s3 = {"querystring_auth": False, "default_acl": None, "file_overwrite": False}
    _region = env("AWS_REGION", default=env("AWS_DEFAULT_REGION", default="eu-west-1"))
    # With a domain set, django-storages writes a file's URL as text; without one it builds
    # it with a boto3 client, which costs a Lambda cold start hundreds of milliseconds.
    MEDIA_DOMAIN = env("DJANGO_MEDIA_DOMAIN", default=f"{MEDIA_BUCKET}.s3.{_region}.amazonaws.com")
    STATIC_DOMAIN = env("DJANGO_STATIC_DOMAIN", default=f"{STATIC_BUCKET}.s3.{_region}.amazonaws.com")
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3, "bucket_name": MEDIA_BUCKET, "custom_domain": MEDIA_DOMAIN,
                        "object_parameters": {"CacheControl": "public, max-age=86400"}},
        },
        # Hashed names (collectstatic writes styles.<hash>.css), so a file can be cached for a year.
        "staticfiles": {
            "BACKEND": "shop_project.storages.PackagedManifestS3Storage",
            "OPTIONS": {**_s3, "bucket_name": STATIC_BUCKET, "file_overwrite": True,
                        "custom_domain": STATIC_DOMAIN,
                        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"}},
        },
    }
    # Where the pages' images and stylesheet come from, for the Content-Security-Policy.
    MEDIA_ORIGIN, STATIC_ORIGIN = f"https://{MEDIA_DOMAIN}", f"https://{STATIC_DOMAIN}"
else:
    _set = [name for name in BUCKET_VARIABLES if env(name, default="")]
    if _set:
        raise ImproperlyConfigured(f"DJANGO_STORAGE=local does not use {' and '.join(_set)}: unset "
                                   f"{'them' if len(_set) > 1 else 'it'}, or set DJANGO_STORAGE=s3")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
    SERVE_MEDIA = True
    MEDIA_ORIGIN = STATIC_ORIGIN = SELF
CONTENT_SECURITY_POLICY = content_security_policy(
    static_origin=STATIC_ORIGIN, media_origin=MEDIA_ORIGIN, stripe_js_url=STRIPE_JS_URL)

# Payments ------------------------------------------------------------------------------------
# No default, unlike local and test (localstripe's): a missing key stops the start. On Lambda
# the secret key and the webhook's signing secret come from Secrets Manager (the JSON secret
# DJANGO_SECRETS_ID names, like DATABASE_URL), the publishable key from zappa_settings.json;
# the docker stack sets all three for its localstripe. The prefixes catch a key pasted into
# the wrong variable (a publishable key as the secret one would fail on the first payment).
STRIPE_KEY_PREFIXES = {
    "STRIPE_SECRET_KEY": ("sk_", "rk_"),  # a secret or a restricted key
    "STRIPE_PUBLISHABLE_KEY": ("pk_",),
    "STRIPE_WEBHOOK_SECRET": ("whsec_",),
}


def checked_stripe_key(name: str) -> str:
    value = env.verbatim(name)
    if not value.startswith(STRIPE_KEY_PREFIXES[name]):
        raise ImproperlyConfigured(
            f"{name} does not look like one ({value[:3]}...): it starts with "
            f"{' or '.join(STRIPE_KEY_PREFIXES[name])} (Stripe's dashboard, Developers > API keys)")
    return value


STRIPE_SECRET_KEY = checked_stripe_key("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = checked_stripe_key("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = checked_stripe_key("STRIPE_WEBHOOK_SECRET")

# E-mail --------------------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django_ses.SESBackend")
AWS_SES_REGION_NAME = env("AWS_REGION", default=env("AWS_DEFAULT_REGION", default="eu-west-1"))
# None: boto3 finds the endpoint itself (the region's, or AWS_ENDPOINT_URL, as for every other
# AWS client here); django-ses would otherwise pin https://email.<region>.amazonaws.com.
AWS_SES_REGION_ENDPOINT_URL = None
# Bounded like every other AWS client here: a send gives up within 2 + 5 s, well inside the
# task's soft time limit. One attempt: botocore would send SendRawEmail again after a late answer
# or a 5xx, which SES may have accepted (a second e-mail within seconds); the task's retries, with
# their backoff and the claim, stand in for it. botocore is loaded on Lambda anyway (S3 storages).
AWS_SES_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 1})

# Celery: no embedded broker in production; SQS on Lambda (CELERY_SQS_QUEUE_URL), RabbitMQ in
# the docker stack.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
if ON_LAMBDA and not (CELERY_BROKER_URL.startswith("sqs://") and CELERY_SQS_QUEUE_URL):
    # The function's role may send to its one queue, not list or create queues.
    raise ImproperlyConfigured("On AWS Lambda, CELERY_BROKER_URL must be sqs:// and "
                               "CELERY_SQS_QUEUE_URL the task queue's URL")

# HTTPS ---------------------------------------------------------------------------------------
# API Gateway terminates TLS and says so in X-Forwarded-Proto; it accepts HTTPS only, so the
# redirect below never loops. The docker stack on http://localhost turns these off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# Logs: one JSON object a line on stdout, which CloudWatch Logs (and `docker compose logs`) keep;
# one line per request and per task among them (shop_project/logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    # Every line logged during a request or an invocation carries its request ids.
    "filters": {"request_ids": {"()": "shop_project.logs.RequestIdsFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json",
            "filters": ["request_ids"],
        },
    },
    "root": {"handlers": ["stdout"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # fontTools logs every table it subsets, and warns of the font-editor tables it drops: a
    # dozen lines per invoice PDF that say nothing about the shop.
    "loggers": {"fontTools": {"level": "ERROR"}},
}
