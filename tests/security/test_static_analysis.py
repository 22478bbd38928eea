"""Static checks of the source: bandit on the code that ships, and a secret scan of the repository.

Both run as subprocesses of the pinned tools in requirements-dev.txt. A finding fails the test
unless it is explained here (bandit) or audited into .secrets.baseline (detect-secrets).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What bandit reads: the code that runs in Lambda, in the container, and at deploy time.
BANDIT_TARGETS = ["apps", "shop_project", "infra"]
# Tests assert (B101) and use fixed passwords by design; migrations are generated.
BANDIT_EXCLUDE = "*/tests/*,*/migrations/*"

# Findings judged false positives, by (file, test id), each with why. Keyed by file rather than
# line so that an edit elsewhere in the file does not break the test; a new finding of the same
# kind in the same file is then accepted too, which is why each file/test pair stays narrow.
BANDIT_ACCEPTED = {
    ("apps/shop/demo_catalog.py", "B311"):
        "random.Random(index) picks demo product prices and stock for seed_catalog, reproducibly; "
        "nothing secret or security-relevant comes from it",
    ("apps/orders/forms.py", "B308"):
        "mark_safe on the checkout form's own HTML, rendered once by the form templates, with the "
        "signed value put in after escape(): nothing goes in unescaped (test_order_form.py)",
    ("apps/orders/forms.py", "B703"):
        "the same mark_safe as B308: the form templates' HTML and an escape()d signed value",
    ("apps/payment/management/commands/localstripe_webhook.py", "B310"):
        "urlopen of STRIPE_API_BASE and --shop, both http(s) URLs from the settings or the "
        "command line of make run and the docker stack: no URL from a request",
    ("shop_project/marks.py", "B308"):
        "mark_safe on a translated sentence after escape(), with every value but a number passed "
        "through conditional_escape(): only the marks' own format_html spans stay markup",
    ("shop_project/marks.py", "B703"):
        "the same mark_safe as B308: an escape()d sentence and conditional_escape()d values",
    ("apps/recommendations/selectors.py", "B608"):
        "the SQL is built from the models' own table and column names and one placeholder per "
        "value; every product id and limit is a bound parameter",
    ("shop_project/sessions.py", "B608"):
        "the session read's SQL names the session model's own table (quoted by the backend); the "
        "key and the time are bound parameters",
    ("apps/orders/services.py", "B608"):
        "checkout's stock UPDATE and unpaid-orders read name the models' own tables (quoted by the "
        "backend) and fixed columns, with one placeholder per value: every id, quantity, address, "
        "session reference and limit is a bound parameter",
    ("infra/zappa_callbacks.py", "B404"):
        "subprocess runs this interpreter (sys.executable) at deploy time to collect static files",
    ("infra/zappa_callbacks.py", "B603"):
        "the argument list is [sys.executable, '-c', <constant script>, <temporary directory>]: "
        "no shell, nothing from user input",
}

# Where a secret scan must not look: what it writes itself, and what tools write locally.
# test_data/stripe/ holds objects recorded from localstripe, whose client secrets are its own
# random strings for objects that exist nowhere else (devtools/stripe_recordings.py).
SECRET_SCAN_SKIPPED_PREFIXES = (".secrets.baseline", ".hypothesis/", ".venv", "var/", "media/",
                                "test_data/stripe/")


def run(command: list[str]) -> subprocess.CompletedProcess:
    # The commands are fixed lists of this interpreter's own tools: no shell, no user input.
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_bandit_reports_nothing_unexplained():
    result = run([sys.executable, "-m", "bandit", "-r", *BANDIT_TARGETS, "-x", BANDIT_EXCLUDE,
                  "-f", "json", "-q"])
    assert result.returncode in (0, 1), result.stderr  # 1: there were findings
    report = json.loads(result.stdout)

    assert report["errors"] == [], "bandit could not read some files"
    unexplained = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if (r["filename"], r["test_id"]) not in BANDIT_ACCEPTED
    ]
    assert unexplained == [], "new bandit findings: fix them, or explain them in BANDIT_ACCEPTED"
    scanned = set(report["metrics"]) - {"_totals"}
    assert any(name.startswith("infra/") for name in scanned)
    assert any(name.startswith("shop_project/") for name in scanned)


def repository_files() -> list[str]:
    """Tracked files, and new ones not ignored yet (so that a secret is caught before `git add`)."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"])
    if listed.returncode != 0:
        pytest.fail(f"git ls-files failed: {listed.stderr}")
    return sorted(
        {name for name in listed.stdout.splitlines()
         if not name.startswith(SECRET_SCAN_SKIPPED_PREFIXES) and (ROOT / name).is_file()}
    )


def findings(results: dict) -> set[tuple[str, str, str]]:
    return {(name, r["type"], r["hashed_secret"]) for name, found in results.items() for r in found}


def test_the_secrets_baseline_holds_only_audited_non_secrets():
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())

    not_audited = [
        f"{name}:{r['line_number']} {r['type']}"
        for name, found in baseline["results"].items() for r in found
        if r.get("is_secret") is not False
    ]
    assert not_audited == [], "audit these: `detect-secrets audit .secrets.baseline`"


def test_the_repository_holds_no_secret_beyond_the_baseline():
    result = run([sys.executable, "-m", "detect_secrets", "scan", *repository_files()])
    assert result.returncode == 0, result.stderr
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())

    new = findings(json.loads(result.stdout)["results"]) - findings(baseline["results"])

    assert sorted(new) == [], (
        "possible secrets: remove them, or if they are not secrets, add them to .secrets.baseline "
        "(`detect-secrets scan --baseline .secrets.baseline $(git ls-files)`) and audit them "
        "(`detect-secrets audit .secrets.baseline`)"
    )
