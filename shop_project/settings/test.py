"""Settings for pytest: SQLite unless DATABASE_URL names a server (CI sets PostgreSQL)."""

import tempfile

from .base import *  # noqa: F403

DEBUG = False
# Hashing passwords properly only slows the suite down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Uploaded and generated images go to a throwaway folder, never into the working tree.
MEDIA_ROOT = tempfile.mkdtemp(prefix="shop-test-media-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
