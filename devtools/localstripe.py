"""localstripe, the fake Stripe server, run for tests, `make bench` and anything else that pays.

localstripe (PyPI) keeps PaymentIntents, charges and refunds in memory, serves a stand-in for
Stripe.js at /js.stripe.com/v3/ and signs the webhooks it posts. `make run` starts it on
127.0.0.1:8420; the tests start one per process on a port the OS picks, so that parallel runs
and a running `make run` do not meet. DESIGN.md (its last section) says what it emulates.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# localstripe takes any key of the right shape.
SECRET_KEY = "sk_test_localstripe"  # pragma: allowlist secret (localstripe takes any key)
PUBLISHABLE_KEY = "pk_test_localstripe"
START_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class LocalStripe:
    api_base: str  # STRIPE_API_BASE: http://127.0.0.1:<port>

    @property
    def js_url(self) -> str:  # STRIPE_JS_URL
        return f"{self.api_base}/js.stripe.com/v3/"

    def register_webhook(self, name: str, *, url: str, secret: str, events: list[str] | None = None) -> None:
        """Have localstripe POST its events, signed with `secret`, to `url` (about a second after each)."""
        fields = [("url", url), ("secret", secret), *(("events[]", event) for event in events or [])]
        body = "&".join(f"{quote(key)}={quote(value)}" for key, value in fields).encode()
        address = f"{self.api_base}/_config/webhooks/{quote(name)}"
        request = urllib.request.Request(address, data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def localstripe_server(*, port: int | None = None) -> Iterator[LocalStripe]:
    """A fresh localstripe (no saved state) on 127.0.0.1:`port` (a free one if None), stopped after."""
    port = port or free_port()
    executable = Path(sys.executable).with_name("localstripe")
    process = subprocess.Popen(
        [str(executable), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _listening(port):
            if process.poll() is not None:
                raise RuntimeError(f"localstripe exited with {process.returncode} before listening on {port}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"localstripe did not listen on {port} within {START_TIMEOUT_SECONDS} s")
            time.sleep(0.1)
        yield LocalStripe(api_base=f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
