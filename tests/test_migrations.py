"""The migrations apply, forwards and back, on SQLite, the database of `make run` and of a
newcomer's `make test` without PostgreSQL (CI runs the rest of the tests on PostgreSQL).

SQLite alters a table by rebuilding it from the migration state, so a migration PostgreSQL
applies can still fail there: renaming the catalog's columns once did, on indexes that the
state still had naming the old fields.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def manage(database: Path, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}",
           "DJANGO_SETTINGS_MODULE": "shop_project.settings.local"}
    return subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_every_migration_applies_on_a_new_sqlite_database_and_unapplies(tmp_path):
    database = tmp_path / "shop.sqlite3"

    forwards = manage(database, "migrate", "--no-input")
    assert forwards.returncode == 0, forwards.stderr[-3000:]
    check = manage(database, "makemigrations", "--check", "--dry-run")
    assert check.returncode == 0, check.stdout + check.stderr

    for app in ("shop", "orders"):
        back = manage(database, "migrate", app, "0001", "--no-input")
        assert back.returncode == 0, back.stderr[-3000:]
    again = manage(database, "migrate", "--no-input")
    assert again.returncode == 0, again.stderr[-3000:]
