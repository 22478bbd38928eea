"""Settings for AWS Lambda (through Zappa) and the docker stack.

Every value comes from the environment (see .env.example). On Lambda, the secrets come from
Secrets Manager at cold start (DJANGO_SECRETS_ID); static files and product images live on S3;
e-mail goes through SES. The docker stack runs the same settings with local stand-ins:
no buckets (WhiteNoise serves static files, a volume holds media), SMTP to a mail catcher.
"""

from botocore.config import Config

from shop_project.aws_secrets import secrets_into_environment

from .base import *  # noqa: F403
from .base import MIDDLEWARE, env

secrets_into_environment(env("DJANGO_SECRETS_ID", default=""))

DEBUG = False
# No default: a missing secret must stop the process at start, not run with a known key.
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# A leading dot allows every subdomain (e.g. ".execute-api.eu-west-1.amazonaws.com").
CSRF_TRUSTED_ORIGINS = [
    f"https://*{host}" if host.startswith(".") else f"https://{host}" for host in ALLOWED_HOSTS
]

# Database ------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL")}
# A Lambda container serves one request at a time and may live for hours: keep its connection
# between invocations (saving a TLS handshake per request), check it before reuse after a
# freeze, and close it after a minute idle. Past a few hundred containers, put RDS Proxy between.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Static files and media ----------------------------------------------------------------------
STATIC_BUCKET = env("DJANGO_STATIC_BUCKET", default="")
MEDIA_BUCKET = env("DJANGO_MEDIA_BUCKET", default="")
if STATIC_BUCKET and MEDIA_BUCKET:
    _s3 = {"querystring_auth": False, "default_acl": None, "file_overwrite": False}
    _region = env("AWS_REGION", default=env("AWS_DEFAULT_REGION", default="eu-west-1"))
    # With a domain set, django-storages writes a file's URL as text; without one it builds
    # it with a boto3 client, which costs a Lambda cold start hundreds of milliseconds.
    _media_domain = env("DJANGO_MEDIA_DOMAIN", default=f"{MEDIA_BUCKET}.s3.{_region}.amazonaws.com")
    _static_domain = env("DJANGO_STATIC_DOMAIN", default=f"{STATIC_BUCKET}.s3.{_region}.amazonaws.com")
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3, "bucket_name": MEDIA_BUCKET, "custom_domain": _media_domain,
                        "object_parameters": {"CacheControl": "public, max-age=86400"}},
        },
        # Hashed names (collectstatic writes styles.<hash>.css), so a file can be cached for a year.
        "staticfiles": {
            "BACKEND": "shop_project.storages.PackagedManifestS3Storage",
            "OPTIONS": {**_s3, "bucket_name": STATIC_BUCKET, "file_overwrite": True,
                        "custom_domain": _static_domain,
                        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"}},
        },
    }
else:
    # The docker stack: WhiteNoise serves the hashed static files from the container.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
    SERVE_MEDIA = True

# E-mail --------------------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django_ses.SESBackend")
AWS_SES_REGION_NAME = env("AWS_REGION", default=env("AWS_DEFAULT_REGION", default="eu-west-1"))
# None: boto3 finds the endpoint itself (the region's, or AWS_ENDPOINT_URL, as for every other
# AWS client here); django-ses would otherwise pin https://email.<region>.amazonaws.com.
AWS_SES_REGION_ENDPOINT_URL = None
# Bounded like every other AWS client here: a send gives up within (2 + 5) x 2 s, well inside
# the task's soft time limit. botocore is loaded on Lambda anyway (the S3 storages need it).
AWS_SES_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2})

# Celery: no embedded broker in production; SQS on Lambda (CELERY_SQS_QUEUE_URL), RabbitMQ in
# the docker stack.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")

# HTTPS ---------------------------------------------------------------------------------------
# API Gateway terminates TLS and says so in X-Forwarded-Proto; it accepts HTTPS only, so the
# redirect below never loops. The docker stack on http://localhost turns these off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True

# Logs: one JSON object a line on stdout, which CloudWatch Logs (and `docker compose logs`) keep.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
    },
    "root": {"handlers": ["stdout"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
