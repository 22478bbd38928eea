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
    "DJANGO_STATIC_BUCKET": "myshop-dev-static",
    "DJANGO_MEDIA_BUCKET": "myshop-dev-media",
    "AWS_REGION": "eu-west-1",
}


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """A new Python process with `env` and none of this process's shop or AWS variables."""
    ours = ("DJANGO_", "DATABASE_", "CELERY_", "AWS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def run_django(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_python(["manage.py", *args], env)


def test_deploy_checks_pass_without_a_warning():
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], AWS_ENVIRONMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_missing_secret_key_stops_the_start_naming_the_variable():
    env = {k: v for k, v in AWS_ENVIRONMENT.items() if k != "DJANGO_SECRET_KEY"}
    result = run_django(["check"], env)
    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_settings_serve_https_behind_api_gateway_and_log_json():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'ssl': s.SECURE_SSL_REDIRECT, 'proxy': s.SECURE_PROXY_SSL_HEADER, "
        "'cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE], 'hsts': s.SECURE_HSTS_SECONDS, "
        "'csrf': s.CSRF_TRUSTED_ORIGINS, 'conn': s.DATABASES['default']['CONN_MAX_AGE'], "
        "'email': s.EMAIL_BACKEND, 'static': s.STORAGES['staticfiles']['BACKEND'], "
        "'media': s.STORAGES['default']['BACKEND'], 'log': s.LOGGING['formatters']['json']['()']}))"
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


def variables_read_by_production() -> set[str]:
    """Every variable name the production path reads through env(...) or os.environ."""
    sources = [
        ROOT / "shop_project" / "settings" / "base.py",
        ROOT / "shop_project" / "settings" / "production.py",
    ]
    pattern = re.compile(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {name for source in sources for name in pattern.findall(source.read_text())}


def test_env_example_lists_every_variable_production_reads():
    listed = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    read = variables_read_by_production()
    assert read, "the pattern found no variable: it no longer matches how settings read them"
    assert read - listed == set()


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DATABASE_URL"])
def test_env_example_holds_no_real_looking_secret(name):
    values = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert "change-me" in values[name] or "password" in values[name]
