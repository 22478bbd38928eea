"""Secrets Manager at cold start: a JSON secret's keys become environment variables.

On Lambda, DJANGO_SECRETS_ID names the secret infra/ created (DJANGO_SECRET_KEY, DATABASE_URL),
so no secret sits in zappa_settings.json or in the function's configuration. The docker stack
sets the same variables directly and leaves DJANGO_SECRETS_ID unset.
"""

import json
import os


def secrets_into_environment(secret_id: str) -> None:
    """Copy the secret's keys into os.environ; a variable that is already set wins."""
    if not secret_id:
        return
    import boto3  # Only on Lambda: a process without a secret pays nothing for boto3.

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    copy_into_environment(json.loads(secret["SecretString"]))


def copy_into_environment(values: dict) -> None:
    """Set each variable that is unset; one set to the empty string counts as unset, as in the settings."""
    for name, value in values.items():
        if not os.environ.get(name):
            os.environ[name] = str(value)
