"""Settings for AWS Lambda (through Zappa) and the docker stack.

Minimal until the serverless issue completes it; what is here already fails safe.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
# No default: a missing secret must stop the process at start, not run with a known key.
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
