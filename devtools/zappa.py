"""Zappa for tests and benchmarks: the deploy venv, a copy of the repo, Zappa's CLI with boto3 on moto.

- `build_deploy_venv(path)`: a clean Python 3.11 venv with requirements-deploy.txt (the runtime
  packages and Zappa), as `make deploy-venv` builds it. Zappa packages the venv it runs in, so
  this, not the developer's .venv, is what a test must run Zappa from.
- `copy_repo(dest)`: the project as Zappa sees it from a checkout, without the developer's
  venvs, caches and local data. Zappa writes its zip and CloudFormation template into the
  working directory, and infra/deploy.py rewrites zappa_settings.json: both happen in the copy.
- `run_zappa(venv, *args, cwd=..., env=...)`: the `zappa` command of that venv, with
  `zappa_environment()`: only that venv (VIRTUAL_ENV is how Zappa finds what to package), and
  boto3 pointed at moto, or at nothing at all for commands that must not reach AWS.

The pytest fixtures (`deploy_venv`, `zappa_package`) and the moto route Zappa needs for
`zappa update` are in tests/support/zappa.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devtools.sqs import REGION, MotoServer, aws_environment_variables

REPO = Path(__file__).resolve().parents[1]
DEPLOY_REQUIREMENTS = REPO / "requirements-deploy.txt"
STAGE = "dev"
# The Lambda runtime of zappa_settings.json; the venv Zappa packages must be the same Python.
PYTHON_VERSION = (3, 11)
# Seconds; a Zappa command on moto takes about 20 (mostly packaging a 24 MiB zip).
ZAPPA_TIMEOUT = 300


class CommandFailed(AssertionError):
    """A command of the deploy path failed or hung; the message holds its output.

    An AssertionError, so that a test calling it fails (not errors) and shows the output.
    """


# Where commands that need no AWS send boto3: the discard port on loopback, closed.
NO_AWS = MotoServer(endpoint_url="http://127.0.0.1:9", region=REGION)

# What a copy of the repo leaves out: the developer's environments, caches, local data and
# secrets (.env), and Zappa's leftovers. Zappa's "exclude" keeps all of it out of the package
# anyway; not copying it saves time (the dev .venv alone is hundreds of MB).
_LEFT_OUT_AT_THE_TOP = {
    ".git", ".pytest_cache", ".ruff_cache", ".env", "var", "media", "staticfiles", "test-artifacts",
    "db.sqlite3",
}
_LEFT_OUT_EVERYWHERE = shutil.ignore_patterns(
    "__pycache__", ".venv*", "node_modules", "myshop-*.zip", "handler_myshop-*", "myshop-*-template-*.json",
)


def _left_out(directory: str, names: list[str]) -> set[str]:
    left_out = set(_LEFT_OUT_EVERYWHERE(directory, names))
    if Path(directory) == REPO:
        left_out |= _LEFT_OUT_AT_THE_TOP.intersection(names)
    return left_out


def deploy_python() -> str:
    """A Python 3.11 to build the deploy venv with: this one if it is 3.11, else python3.11."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return sys.executable
    version = "{}.{}".format(*PYTHON_VERSION)
    found = shutil.which(f"python{version}")
    if found is None:
        raise CommandFailed(f"the deploy venv needs Python {version} (the Lambda runtime); none found")
    return found


def build_deploy_venv(path: Path) -> Path:
    """`python3.11 -m venv path` and requirements-deploy.txt in it; returns path."""
    run_command([deploy_python(), "-m", "venv", str(path)], timeout=120)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    run_command([*pip, "-r", str(DEPLOY_REQUIREMENTS)], timeout=600)
    return path


def copy_repo(dest: Path) -> Path:
    """The working tree (tracked or not, as it is now) without venvs, caches and local data."""
    shutil.copytree(REPO, dest, ignore=_left_out, symlinks=True)
    return dest


def zappa_environment(venv: Path, server: MotoServer | None = None) -> dict[str, str]:
    """The environment to run the venv's `zappa` in.

    Zappa packages the venv named by VIRTUAL_ENV (without it, pyenv's Python), so that must be
    the deploy venv whatever venv runs the tests. boto3 is pointed at `server`, or, when there
    is none (packaging needs no AWS), at a closed loopback port, so that nothing can reach AWS.
    Credentials are dummies, and whatever else of the developer's could redirect boto3 (a
    profile, per-service endpoints, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) is dropped.
    """
    env = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("AWS_", "DJANGO_", "CELERY_")) and name not in ("PYTHONPATH", "PYTHONHOME")
    }
    env.update(aws_environment_variables(server or NO_AWS))
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"  # Zappa mixes print() and logging; keep them in order
    return env


def run_zappa(venv: Path, *args: str, cwd: Path, env: dict[str, str]) -> str:
    """`zappa <args> --disable_progress` in cwd; its output, or a failure that shows it."""
    command = [str(venv / "bin" / "zappa"), *args, "--disable_progress"]
    return run_command(command, cwd=cwd, env=env, timeout=ZAPPA_TIMEOUT)


def run_command(command: list[str], *, timeout: float, **kwargs) -> str:
    """Run it; its stdout and stderr, or CommandFailed with them."""
    started = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or "") + (error.stderr or "")
        raise CommandFailed(f"{' '.join(command)} took more than {timeout} s:\n{output}") from None
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise CommandFailed(f"{' '.join(command)} failed (exit {result.returncode}, "
                    f"{time.monotonic() - started:.0f} s):\n{output}")
    return output
