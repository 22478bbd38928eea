"""Driving the real Lambda package: a warm container in a subprocess, and the events AWS sends it.

Used by tests/test_lambda_package.py and bench/cold_start.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from http.cookies import SimpleCookie
from pathlib import Path

RUNNER = Path(__file__).with_name("lambda_runner.py")
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")


def unzip(package: Path, into: Path) -> Path:
    with zipfile.ZipFile(package) as archive:
        archive.extractall(into)
    return into


def runtime_dir(site_packages: Path, into: Path) -> Path:
    """A folder holding only what the Lambda runtime provides, linked from `site_packages`."""
    into.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        target = into / name
        if not target.exists():
            target.symlink_to(site_packages / name)
    return into


class LambdaContainer:
    """One warm Lambda container: Zappa's handler imported once, then invoked event by event."""

    def __init__(self, *, package_dir: Path, runtime: Path, env: dict[str, str],
                 wrapper: tuple[str, ...] = (), python_flags: tuple[str, ...] = ()):
        """`wrapper`: a command the interpreter runs under (valgrind, for bench/cold_start.py);
        `python_flags`: more of the interpreter's own (-B: it writes no bytecode, as on Lambda)."""
        self.logs: list[str] = []
        self.process = subprocess.Popen(
            [*wrapper, sys.executable, "-I", "-S", *python_flags, str(RUNNER), str(package_dir),
             str(runtime)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env, cwd=package_dir,
        )
        self.import_seconds = self._answer()["import_seconds"]

    def invoke(self, event: dict) -> tuple[dict, float]:
        """The handler's response to `event`, and how long it took in seconds."""
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        answer = self._answer()
        response = answer["response"]
        if isinstance(response, dict) and "unhandled" in response:
            raise AssertionError(f"the handler raised:\n{response['traceback']}\n{self.log_text()}")
        return response, answer["seconds"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log_text(self) -> str:
        return "\n".join(self.logs[-60:])

    def _answer(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("@@lambda@@ "):
                return json.loads(line.removeprefix("@@lambda@@ "))
            self.logs.append(line.rstrip("\n"))
        raise AssertionError(f"the Lambda process ended (exit {self.process.wait()}):\n{self.log_text()}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def api_gateway_event(method: str, path: str, *, host: str, stage: str = "dev", headers: dict | None = None,
                      body: str | None = None, query: dict | None = None) -> dict:
    """A REST API (v1) proxy event, as API Gateway sends it for https://<host>/<stage><path>."""
    all_headers = {"Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
                   "User-Agent": "lambda-package-test", **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}", "httpMethod": method, "path": f"/{stage}{path}", "stage": stage,
            "requestId": str(uuid.uuid4()), "domainName": host, "apiId": host.split(".")[0],
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "lambda-package-test"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class Browser:
    """Keeps cookies across API Gateway events, as a browser would across requests."""

    def __init__(self, container: LambdaContainer, *, host: str, stage: str = "dev"):
        self.container, self.host, self.stage = container, host, stage
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, form: dict | None = None,
                headers: dict | None = None) -> dict:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{self.host}"
        event = api_gateway_event(method, path, host=self.host, stage=self.stage, headers=headers, body=body)
        response, _ = self.container.invoke(event)
        for header in (response.get("multiValueHeaders") or {}).get("Set-Cookie", []):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response


def site_packages_of(python: str = sys.executable) -> Path:
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def container_env(**extra: str) -> dict[str, str]:
    """The environment Lambda gives the function: no developer venv, the function's variables."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "TZ") if k in os.environ}
    return {**keep, "AWS_LAMBDA_FUNCTION_NAME": "myshop-dev", "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1", "LAMBDA_TASK_ROOT": "/var/task", **extra}
