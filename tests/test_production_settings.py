"""shop_project.settings.production, loaded in a fresh process as Lambda and compose load it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What the function is given on AWS (zappa_settings.json plus the secret), with example values.
AWS_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "shop_project.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-key-" + "x7Kq2Lm9Pz4Rt6Vw8Yb1Nc3Hd5Fg0Js",
    "DJANGO_ALLOWED_HOSTS": ".execute-api.eu-west-1.amazonaws.com,shop.example.com",
    "DATABASE_URL": "postgres://shop:password@db.internal:5432/shop",
    "CELERY_BROKER_URL": "sqs://",
    "CELERY_SQS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/myshop-dev-tasks",
    "DJANGO_STORAGE": "s3",
    "DJANGO_STATIC_BUCKET": "myshop-dev-static",
    "DJANGO_MEDIA_BUCKET": "myshop-dev-media",
    "AWS_REGION": "eu-west-1",
    "STRIPE_SECRET_KEY": "sk_test_example-secret-key-for-the-settings-tests",  # pragma: allowlist secret
    "STRIPE_WEBHOOK_SECRET": "whsec_example-signing-secret",  # pragma: allowlist secret
    "STRIPE_PUBLISHABLE_KEY": "pk_test_example-publishable-key",
}


# Stripe.js from js.stripe.com: its script, its frames (the card element, 3-D Secure), its API.
STRIPE_JS = {
    "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
}


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """A new Python process with `env` and none of this process's shop or AWS variables."""
    ours = ("DJANGO_", "DATABASE_", "CELERY_", "AWS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def run_django(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_python(["manage.py", *args], env)


def production_settings(env: dict[str, str], *names: str) -> dict:
    """The named settings as a fresh process with `env` sees them (JSON-able values only)."""
    script = ("import django, json; django.setup(); from django.conf import settings; "
              f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))")
    result = run_python(["-c", script], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def refusal(env: dict[str, str]) -> str:
    """The last line a start with `env` prints when it refuses (the exception's message)."""
    result = run_django(["check"], env)
    assert result.returncode != 0, result.stdout
    return result.stderr.strip().splitlines()[-1]


def without(*names: str, **changes: str) -> dict[str, str]:
    return {**{k: v for k, v in AWS_ENVIRONMENT.items() if k not in names}, **changes}


def test_deploy_checks_pass_without_a_warning():
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], AWS_ENVIRONMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("env", [without("DJANGO_SECRET_KEY"), without(DJANGO_SECRET_KEY="")],
                         ids=["unset", "empty"])
def test_missing_secret_key_stops_the_start_naming_the_variable(env):
    assert "Set the DJANGO_SECRET_KEY environment variable" in refusal(env)


@pytest.mark.parametrize("key", ["short-key", "k" * 49, "ab" * 30], ids=["9 characters", "49", "2 different"])
def test_a_weak_secret_key_stops_the_start_naming_the_variable(key):
    message = refusal(without(DJANGO_SECRET_KEY=key))

    assert "DJANGO_SECRET_KEY is too weak" in message
    assert "at least 50" in message


def test_the_placeholder_key_of_env_example_stops_the_start():
    (placeholder,) = [line.split("=", 1)[1] for line in (ROOT / ".env.example").read_text().splitlines()
                      if line.startswith("DJANGO_SECRET_KEY=")]
    assert len(placeholder) >= 50  # long enough for the length rule: this one must catch it

    assert "DJANGO_SECRET_KEY is a placeholder" in refusal(without(DJANGO_SECRET_KEY=placeholder))


@pytest.mark.parametrize("key", [
    "0123456789abcdefghij" * 2 + "klmnopqrst",
    # get_random_secret_key() draws from a set with "$" in it; django-environ would read a value
    # starting with "$" as the name of another variable.
    "$y#i9p9rtw1_k6^o%7#76!r@2ed=q8i!1)6=38q5fsmy6!87^*",
], ids=["fifty characters", "starting with $"])
def test_a_strong_secret_key_starts_as_written(key):
    assert production_settings(without(DJANGO_SECRET_KEY=key), "SECRET_KEY") == {"SECRET_KEY": key}


def test_base_settings_hold_no_secret_key():
    from shop_project.settings import base

    assert not hasattr(base, "SECRET_KEY")


# --- Storage: chosen, never guessed ----------------------------------------------------------


def test_the_storage_must_be_chosen():
    assert "Set the DJANGO_STORAGE environment variable" in refusal(without("DJANGO_STORAGE"))
    assert "Set the DJANGO_STORAGE environment variable" in refusal(without(DJANGO_STORAGE=""))
    assert "DJANGO_STORAGE='disk': choose s3" in refusal(without(DJANGO_STORAGE="disk"))


@pytest.mark.parametrize(("missing", "named"), [
    (["DJANGO_STATIC_BUCKET"], "DJANGO_STATIC_BUCKET"),
    (["DJANGO_MEDIA_BUCKET"], "DJANGO_MEDIA_BUCKET"),
    (["DJANGO_STATIC_BUCKET", "DJANGO_MEDIA_BUCKET"], "DJANGO_STATIC_BUCKET and DJANGO_MEDIA_BUCKET"),
])
def test_s3_storage_without_a_bucket_stops_the_start_naming_it(missing, named):
    """It used to fall back to the local disk without a word."""
    assert refusal(without(*missing)).endswith(f"DJANGO_STORAGE=s3 needs {named}")
    assert refusal(without(**dict.fromkeys(missing, ""))).endswith(f"DJANGO_STORAGE=s3 needs {named}")


def test_local_storage_serves_static_files_and_images_itself():
    env = without("DJANGO_STATIC_BUCKET", "DJANGO_MEDIA_BUCKET", DJANGO_STORAGE="local")
    values = production_settings(env, "STORAGES", "MIDDLEWARE", "SERVE_MEDIA")

    assert values["STORAGES"]["staticfiles"]["BACKEND"] == \
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert values["STORAGES"]["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in values["MIDDLEWARE"]
    assert values["SERVE_MEDIA"] is True


def test_local_storage_with_a_bucket_set_stops_the_start():
    message = refusal(without("DJANGO_MEDIA_BUCKET", DJANGO_STORAGE="local"))

    assert message.endswith("DJANGO_STORAGE=local does not use DJANGO_STATIC_BUCKET: unset it, or set "
                            "DJANGO_STORAGE=s3")


# On Lambda the files come from the CloudFront distribution (`make infra` writes its domain).
LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "myshop-dev", "DJANGO_STATIC_DOMAIN": "d111111abcdef8.cloudfront.net",
          "DJANGO_MEDIA_DOMAIN": "d111111abcdef8.cloudfront.net"}


def test_the_lambda_configuration_starts():
    assert production_settings({**AWS_ENVIRONMENT, **LAMBDA}, "STORAGE") == {"STORAGE": "s3"}


@pytest.mark.parametrize(("env", "named"), [
    (without("DJANGO_STATIC_BUCKET", "DJANGO_MEDIA_BUCKET", DJANGO_STORAGE="local", **LAMBDA),
     "DJANGO_STORAGE=local cannot work on AWS Lambda"),
    (without("CELERY_SQS_QUEUE_URL", **LAMBDA), "CELERY_SQS_QUEUE_URL"),
    (without(CELERY_SQS_QUEUE_URL="", **LAMBDA), "CELERY_SQS_QUEUE_URL"),
    (without(CELERY_BROKER_URL="filesystem://", **LAMBDA), "CELERY_BROKER_URL must be sqs://"),
    (without(**{**LAMBDA, "DJANGO_STATIC_DOMAIN": ""}), "DJANGO_STATIC_DOMAIN must name the CloudFront"),
    (without(**{**LAMBDA, "DJANGO_MEDIA_DOMAIN": ""}), "DJANGO_MEDIA_DOMAIN must name the CloudFront"),
], ids=["local storage", "no queue", "empty queue", "embedded broker", "no static domain", "no media domain"])
def test_a_misconfigured_lambda_refuses_to_start(env, named):
    assert named in refusal(env)


# --- A variable set to the empty string is unset ---------------------------------------------


def test_empty_domains_mean_the_buckets_own_domains():
    """`DJANGO_STATIC_DOMAIN=` as .env.example has it used to make every URL cost a boto3 client."""
    values = production_settings(without(DJANGO_STATIC_DOMAIN="", DJANGO_MEDIA_DOMAIN=""), "STORAGES")

    domains = {kind: values["STORAGES"][kind]["OPTIONS"]["custom_domain"]
               for kind in ("staticfiles", "default")}
    assert domains == {"staticfiles": "myshop-dev-static.s3.eu-west-1.amazonaws.com",
                       "default": "myshop-dev-media.s3.eu-west-1.amazonaws.com"}


def test_every_empty_variable_of_env_example_takes_its_default():
    """Production with each variable .env.example leaves empty set to "" starts as if it were unset."""
    empty = [name for name, value in env_example().items()
             if value == "" and name not in AWS_ENVIRONMENT]
    assert "DJANGO_STATIC_DOMAIN" in empty
    names = ("STORAGES", "ALLOWED_HOSTS", "DEBUG", "CSRF_TRUSTED_ORIGINS", "CONTENT_SECURITY_POLICY")

    assert production_settings({**AWS_ENVIRONMENT, **dict.fromkeys(empty, "")}, *names) == \
        production_settings(AWS_ENVIRONMENT, *names)


@pytest.mark.parametrize(("read", "expected"), [
    (lambda env: env("SHOP_TEST_VARIABLE", default="fallback"), "fallback"),
    (lambda env: env.bool("SHOP_TEST_VARIABLE", default=True), True),
    (lambda env: env.int("SHOP_TEST_VARIABLE", default=7), 7),
    (lambda env: env.list("SHOP_TEST_VARIABLE", default=["a"]), ["a"]),
    (lambda env: env.db("SHOP_TEST_VARIABLE", default="sqlite:///x.sqlite3")["NAME"], "x.sqlite3"),
], ids=["str", "bool", "int", "list", "db"])
def test_the_settings_reader_takes_an_empty_variable_for_unset(monkeypatch, read, expected):
    from shop_project.settings.base import env

    monkeypatch.setenv("SHOP_TEST_VARIABLE", "")
    assert read(env) == expected
    monkeypatch.delenv("SHOP_TEST_VARIABLE")
    assert read(env) == expected


def test_the_settings_reader_refuses_an_empty_required_variable(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from shop_project.settings.base import env

    monkeypatch.setenv("SHOP_TEST_VARIABLE", "")
    with pytest.raises(ImproperlyConfigured, match="Set the SHOP_TEST_VARIABLE environment variable"):
        env("SHOP_TEST_VARIABLE")


def test_an_empty_variable_does_not_hide_the_secret_from_secrets_manager(monkeypatch):
    from shop_project import aws_secrets

    monkeypatch.setenv("SHOP_TEST_VARIABLE", "")
    monkeypatch.setenv("SHOP_TEST_SET", "kept")
    aws_secrets.copy_into_environment({"SHOP_TEST_VARIABLE": "from-the-secret", "SHOP_TEST_SET": "ignored"})

    assert os.environ["SHOP_TEST_VARIABLE"] == "from-the-secret"
    assert os.environ["SHOP_TEST_SET"] == "kept"


# --- No side effects at import ---------------------------------------------------------------


def test_settings_make_no_folder_and_the_first_publish_makes_the_broker_folder(tmp_path):
    """The embedded broker's folder is made by the Celery app, before the web process publishes."""
    folder = tmp_path / "broker"
    env = {"DJANGO_SETTINGS_MODULE": "shop_project.settings.local",
           "CELERY_FILESYSTEM_BROKER_DIR": str(folder),
           "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    script = (
        "import django, pathlib, sys; django.setup(); from django.conf import settings; "
        f"folder = pathlib.Path({str(folder)!r}); print(folder.exists()); "
        "from shop_project.celery import app; "
        "app.send_task('apps.orders.tasks.order_created', args=[1]); "
        "print(folder.exists(), sorted(p.suffix for p in folder.iterdir()))"
    )
    result = run_python(["-c", script], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["False", "True ['.exchange', '.msg']"]


def test_settings_serve_https_behind_api_gateway_and_log_json():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'ssl': s.SECURE_SSL_REDIRECT, 'proxy': s.SECURE_PROXY_SSL_HEADER, "
        "'cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE], 'hsts': s.SECURE_HSTS_SECONDS, "
        "'csrf': s.CSRF_TRUSTED_ORIGINS, 'conn': s.DATABASES['default']['CONN_MAX_AGE'], "
        "'email': s.EMAIL_BACKEND, 'static': s.STORAGES['staticfiles']['BACKEND'], "
        "'media': s.STORAGES['default']['BACKEND'], 'log': s.LOGGING['formatters']['json']['()'], "
        "'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES'], 'axes': s.AXES_FAILURE_LIMIT}))"
    )
    result = run_python(["-c", script], AWS_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["ssl"] is True
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["cookies"] == [True, True]
    assert values["hsts"] >= 31536000
    assert values["csrf"] == ["https://*.execute-api.eu-west-1.amazonaws.com", "https://shop.example.com"]
    assert values["conn"] == 60
    assert values["email"] == "django_ses.SESBackend"
    assert values["static"] == "shop_project.storages.PackagedManifestS3Storage"
    assert values["media"] == "storages.backends.s3.S3Storage"
    assert values["log"] == "pythonjsonlogger.json.JsonFormatter"
    assert values["axes"] == 10
    static = "https://myshop-dev-static.s3.eu-west-1.amazonaws.com"
    media = "https://myshop-dev-media.s3.eu-west-1.amazonaws.com"
    assert values["csp"] == {
        "default-src": ["'none'"], "script-src": ["'self'", static, *STRIPE_JS["script-src"]],
        "style-src": ["'self'", static], "img-src": ["'self'", static, media],
        "connect-src": ["'self'", *STRIPE_JS["connect-src"]], "frame-src": STRIPE_JS["frame-src"],
        "form-action": ["'self'"], "base-uri": ["'none'"], "frame-ancestors": ["'none'"],
    }


def variables_read_by_production() -> set[str]:
    """Every variable name the production path reads through env(...) or os.environ."""
    sources = [
        ROOT / "shop_project" / "settings" / "base.py",
        ROOT / "shop_project" / "settings" / "production.py",
    ]
    pattern = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {name for source in sources for name in pattern.findall(source.read_text())}


def env_example() -> dict[str, str]:
    return dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                if line and not line.startswith("#"))


def test_env_example_lists_every_variable_production_reads():
    listed = set(env_example())
    read = variables_read_by_production()
    assert read, "the pattern found no variable: it no longer matches how settings read them"
    assert read - listed == set()


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DATABASE_URL"])
def test_env_example_holds_no_real_looking_secret(name):
    values = env_example()
    assert "change-me" in values[name] or "password" in values[name]


# --- Payments: Stripe's keys, with no localstripe default -------------------------------------


@pytest.mark.parametrize("name", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY"])
def test_a_missing_stripe_key_stops_the_start_naming_it(name):
    assert f"Set the {name} environment variable" in refusal(without(name))
    assert f"Set the {name} environment variable" in refusal(without(**{name: ""}))


@pytest.mark.parametrize(("name", "value"), [
    ("STRIPE_SECRET_KEY", "pk_test_example-publishable-key"),
    ("STRIPE_PUBLISHABLE_KEY", "sk_test_example-secret-key"),  # pragma: allowlist secret
    ("STRIPE_WEBHOOK_SECRET", "sk_test_example-secret-key"),  # pragma: allowlist secret
])
def test_a_stripe_key_in_the_wrong_variable_stops_the_start(name, value):
    assert f"{name} does not look like one" in refusal(without(**{name: value}))


def test_production_talks_to_stripe_itself_and_its_policy_allows_stripe_js():
    seen = production_settings(AWS_ENVIRONMENT, "STRIPE_API_BASE", "STRIPE_JS_URL", "STRIPE_SECRET_KEY",
                               "CONTENT_SECURITY_POLICY")
    directives = seen["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]

    assert (seen["STRIPE_API_BASE"], seen["STRIPE_JS_URL"]) == ("", "https://js.stripe.com/v3/")
    assert seen["STRIPE_SECRET_KEY"] == AWS_ENVIRONMENT["STRIPE_SECRET_KEY"]
    assert "https://js.stripe.com" in directives["script-src"]
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(directives["frame-src"])
    assert "https://api.stripe.com" in directives["connect-src"]


def test_the_stripe_secrets_come_from_secrets_manager_like_the_database_url(monkeypatch):
    """On Lambda, the JSON secret DJANGO_SECRETS_ID names carries them (infra/README.md)."""
    from shop_project.aws_secrets import copy_into_environment

    secret = {"STRIPE_SECRET_KEY": "sk_test_from-the-secret",  # pragma: allowlist secret
              "STRIPE_WEBHOOK_SECRET": "whsec_from-the-secret"}  # pragma: allowlist secret
    for name in secret:
        monkeypatch.delenv(name, raising=False)
    copy_into_environment(secret)
    try:
        seen = production_settings({**without(*secret), **{n: os.environ[n] for n in secret}}, *secret)
    finally:
        for name in secret:
            monkeypatch.delenv(name, raising=False)

    assert seen == secret


# Libraries only some requests or tasks use; each costs the web process's cold start if imported there.
IMPORTED_WHERE_USED = ("fpdf", "fontTools")  # the PDF invoice: apps/payment/invoice.py


def test_the_web_start_imports_no_pdf_library():
    # What a web container does before its first response: the WSGI application (Django set up,
    # the admin discovered), then the URLconf resolved, which imports every view module.
    script = (
        "import sys; from shop_project.wsgi import application; "
        "from django.urls import get_resolver, resolve; "
        "get_resolver().url_patterns; resolve('/en/orders/admin/order/1/pdf/'); resolve('/en/'); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {IMPORTED_WHERE_USED!r}))"
    )
    result = run_python(["-c", script], AWS_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
