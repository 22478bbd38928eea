"""`make bench`: run every benchmark and write bench/results.md and bench/results.png.

Runs bench/web.py (gunicorn, PostgreSQL, wrk), then the existing scripts as they are,
each in a process of its own: bench/flash_sale.py (gunicorn, PostgreSQL),
bench/checkout_latency.py, bench/sqs_throughput.py and bench/cold_start.py. Their Markdown
tables and summary lines are taken from their stdout; each target is marked met or missed.
About 6 minutes on 2 cores.

    .venv/bin/python bench/run_all.py [--reuse-db] [--skip cold_start ...] [--seconds 10]
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OTHERS = {
    "flash_sale": ["--runs", "3"],
    "checkout_latency": ["--checkouts", "100"],
    "sqs_throughput": [],
    "cold_start": ["--runs", "9", "--instructions", "--read-only"],
    "invoice_render": ["--runs", "20"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse-db", action="store_true", help="passed to bench/web.py")
    parser.add_argument("--seconds", type=int, default=10, help="bench/web.py seconds per endpoint")
    parser.add_argument("--skip", nargs="*", default=[], choices=["web", *OTHERS])
    parser.add_argument("--out", type=Path, default=BENCH, help="where results.md and .png go")
    args = parser.parse_args()

    started = time.monotonic()
    sections = []
    web = None
    if "web" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "web.json"
            command = ["bench/web.py", "--seconds", str(args.seconds), "--json", str(path)]
            out, seconds = run([*command, *(["--reuse-db"] if args.reuse_db else [])])
            web = json.loads(path.read_text())
        sections.append(web_section(web, out, seconds))
    for name, extra in OTHERS.items():
        if name in args.skip:
            continue
        out, seconds = run([f"bench/{name}.py", *extra])
        sections.append(SECTIONS[name](out, seconds, " ".join([f"bench/{name}.py", *extra])))

    args.out.mkdir(parents=True, exist_ok=True)
    if web is not None:
        chart(web, args.out / "results.png")
    total = time.monotonic() - started
    (args.out / "results.md").write_text(header(web, total) + "\n".join(sections))
    print(f"wrote {args.out / 'results.md'}" + (f" and {args.out / 'results.png'}" if web else "")
          + f" in {total / 60:.1f} min")


def run(command: list[str]) -> tuple[str, float]:
    print(f"$ {' '.join(command)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, *command], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    seconds = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stdout}")
    print(done.stdout, file=sys.stderr, flush=True)
    return done.stdout, seconds


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**MISSED**"


def number_after(label: str, text: str) -> float:
    match = re.search(re.escape(label) + r"\s*([0-9.]+)", text)
    if not match:
        raise SystemExit(f"no '{label}' in:\n{text}")
    return float(match.group(1))


def tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables in a script's output, as rows of cells (header first, no rule)."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def table_text(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.startswith("|"))


def notes(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("|"))


# The sections -----------------------------------------------------------------------------------

def header(web, total: float) -> str:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem = next((line for line in meminfo if line.startswith("MemTotal")), "")
    ram_gib = int(mem.split()[1]) / 1024 / 1024 if mem else 0
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = ""
    if web:
        v = web["versions"]
        versions = (f"; Django {v['django']}, gunicorn {v['gunicorn']}, PostgreSQL {v['postgresql']}, "
                    f"wrk {v['wrk']}")
    return (
        "# Benchmark results\n\n"
        "Written by `make bench` (`bench/run_all.py`); do not edit by hand.\n\n"
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; the whole run took "
        f"{total / 60:.1f} min.\n"
        f"- Machine: {os.cpu_count()} cores ({cpu}), {ram_gib:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}.\n"
        f"- Versions: Python {platform.python_version()}{versions}.\n"
        f"- Load average at the end (other work shares the machine): "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.\n\n"
    )


def web_section(web: dict, out: str, seconds: float) -> str:
    lines = [
        "## Web pages under load (`bench/web.py`)\n",
        "gunicorn, PostgreSQL and 10,000 products on loopback, wrk in a process of its own. "
        "\"x floor\" is requests/s over those of `GET /healthz/` (a view that returns \"ok\"), "
        "served by the same workers in the runs just before and after the page. Targets: list "
        ">= 0.5x the floor, detail >= 0.6x, in English and in Korean (/ko/); the cart >= 0.5x; "
        "the checkout journey >= 0.25x (3x faster a request than the 0.083x of 2026-11-24, when "
        "the journey had no payment page: \"as filed\" is that journey, like for like).\n",
        out.split("\n\n")[0].strip(), "",
    ]
    for name, target in web["targets"].items():
        ratio = web["runs"][name]["x_floor"]
        lines.append(f"- {name}: {ratio:.2f}x the floor, target >= {target}x: {verdict(ratio >= target)}")
    lines += ["", "\n\n".join(out.split("\n\n")[1:]), "",
              "![requests/s per endpoint next to the floor](results.png)", "",
              f"(this section: {seconds:.0f} s, setup and seeding included)", ""]
    if not web["healthz_from_shop"]:
        lines.insert(2, "Note: shop_project/urls.py has no /healthz/ yet; the bench added the same "
                        "view in its own URLconf.\n")
    return "\n".join(lines)


def flash_sale_section(out: str, seconds: float, command: str) -> str:
    exact = re.search(r"units sold exactly (\d+) in every run \(answers and database\): (\w+)", out)
    errors = number_after("errors and other answers in all runs:", out)
    return "\n".join([
        f"## Flash sale (`{command}`)\n",
        "200 buyers released at once, each an HTTP client with its own session (product page, add "
        "to cart, checkout form, POST), over gunicorn and PostgreSQL: 100 units of one product "
        "(every checkout queues for one row lock), then 100 products of one unit (the same "
        "sales over 100 rows). Targets: exactly 100 units sold, no errors.\n",
        table_text(out), "",
        f"- units sold exactly {exact.group(1) if exact else '?'} in every run: "
        f"{verdict(bool(exact) and exact.group(2) == 'yes')}",
        f"- errors (5xx, transport) and unexpected answers {errors:.0f}, target 0: {verdict(errors == 0)}",
        "", notes(out).replace("\n", "\n\n"), "", f"({seconds:.0f} s)", ""])


def checkout_section(out: str, seconds: float, command: str) -> str:
    ratio = number_after("p95 ratio slow/instant:", out)
    return "\n".join([
        f"## Checkout with a slow e-mail server (`{command}`)\n",
        "Checkouts through the test client while a real worker sends the confirmations, with an "
        "instant backend and one that takes 2 s a message. Target: p95 ratio slow/instant <= 1.1.\n",
        table_text(out), "",
        f"- p95 ratio slow/instant {ratio:.2f}, target <= 1.1: {verdict(ratio <= 1.1)}", "",
        f"({seconds:.0f} s)", ""])


def sqs_section(out: str, seconds: float, command: str) -> str:
    return "\n".join([
        f"## Draining SQS (`{command}`)\n",
        "Worker throughput on moto: the worker Lambda's handler and `celery worker` drain the same "
        "confirmation tasks; no target, each must deliver exactly once.\n",
        table_text(out), "", notes(out), "", f"({seconds:.0f} s)", ""])


def cold_start_section(out: str, seconds: float, command: str) -> str:
    rows = {row[0]: row for row in tables(out)[0][1:]}
    shop = rows["shop, GET /en/"]
    zipped, unzipped = float(shop[1]), float(shop[2])
    ratios = {language: number_after(f"cold start ratio shop/bare for /{language}/:", out)
              for language in ("en", "ko")}
    return "\n".join([
        f"## Package size and cold start (`{command}`)\n",
        "The shop's `zappa package` next to a bare Django project packaged the same way; a cold "
        "start is the handler's import plus the first request: the shop's product list in English "
        "and in Korean, the bare project's one-line view.\n",
        table_text(out), "",
        f"- zipped {zipped} MiB, target <= 30: {verdict(zipped <= 30)}",
        f"- unzipped {unzipped} MB, target <= 100: {verdict(unzipped <= 100)}",
        *(f"- cold start ratio in {language}: {ratio:.2f}, target <= 1.3: {verdict(ratio <= 1.3)}"
          for language, ratio in ratios.items()), "",
        notes(out), "",
        f"({seconds:.0f} s)", ""])


def invoice_render_section(out: str, seconds: float, command: str) -> str:
    return "\n".join([
        f"## PDF invoice render (`{command}`)\n",
        "The invoice of a 20-line order with a Korean customer, rendered by fpdf2 with its two fonts "
        "subset-embedded; the first render also imports fpdf2 and fontTools. No target.\n",
        table_text(out), "", f"({seconds:.0f} s)", ""])


SECTIONS = {"flash_sale": flash_sale_section, "checkout_latency": checkout_section,
            "sqs_throughput": sqs_section,
            "cold_start": cold_start_section, "invoice_render": invoice_render_section}


def chart(web: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(web["runs"])
    values = [web["runs"][n]["rps"] for n in names]
    floors = [web["runs"][n]["floor_rps"] for n in names]  # the floor next to each page
    ratios = [web["runs"][n]["x_floor"] for n in names]
    colors = ["#888888" if n == "floor" else "#3b75af" for n in names]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    bars = ax.bar(range(len(names)), values, color=colors)
    ax.set_xticks(range(len(names)), [textwrap.fill(n, 14) for n in names], fontsize=8)
    labels = [f"{v:.0f}\n{x:.2f}x" for v, x in zip(values, ratios, strict=True)]
    ax.bar_label(bars, labels=labels, fontsize=8)
    for name, target in web["targets"].items():
        i = names.index(name)
        ax.hlines(target * floors[i], i - 0.45, i + 0.45, colors="#c0392b", linestyles="dashed")
        ax.annotate(f"target {target}x", (i, target * floors[i]), xytext=(0, 3),
                    textcoords="offset points", ha="center", fontsize=8, color="#c0392b")
    ax.set_ylabel("requests/s")
    ax.set_ylim(0, max(values) * 1.2)
    ax.set_title(f"Requests/s per endpoint next to the floor (GET /healthz/), "
                 f"gunicorn x{web['workers']}, {os.cpu_count()} cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
