"""The message catalogs: where the .po files are, compiling them to .mo, refreshing them from the code.

The .po files are the source (committed); the .mo files are built from them and never committed.
Compiling is pure Python (polib), so neither a newcomer nor the package step needs GNU gettext;
only refreshing the catalogs from the code (`make messages`, Django's makemessages) does.
This module is tooling: nothing the shop imports at run time imports it.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404 - gettext's own tools, with fixed arguments
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LANGUAGE_CODES = ("en", "ko")
# makemessages run at the root must leave the apps (each has its own catalogs) and the trees
# that are not the shop's.
ROOT_IGNORES = ["apps/*", ".venv*", "bench", "tests", "devtools", "infra", "staticfiles", "media", "var"]


def catalog_dirs(base_dir: Path = BASE_DIR) -> list[Path]:
    """The folders that hold a `locale/`: the project's own (templates/, shop_project/) and each app's."""
    apps = {po.parents[3] for po in (base_dir / "apps").glob("*/locale/*/LC_MESSAGES/*.po")}
    return [base_dir, *sorted(apps)]


def po_files(base_dir: Path = BASE_DIR) -> list[Path]:
    return sorted(
        po for folder in catalog_dirs(base_dir) for po in (folder / "locale").glob("*/LC_MESSAGES/*.po")
    )


def mo_path(po: Path) -> Path:
    return po.with_suffix(".mo")


def is_stale(po: Path) -> bool:
    mo = mo_path(po)
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compiled(po: Path) -> bytes:
    """The .mo file's bytes for one .po file. Fuzzy entries are left out, as msgfmt does."""
    import polib  # tooling only; the Lambda package does not carry it

    catalog = polib.pofile(str(po))
    for entry in catalog.fuzzy_entries():
        catalog.remove(entry)
    return catalog.to_binary()


def compile_catalogs(base_dir: Path = BASE_DIR, *, only_stale: bool = False) -> list[Path]:
    """Write the .mo file next to each .po file (or only where the .po is newer); the .mo paths."""
    written = []
    for po in po_files(base_dir):
        if only_stale and not is_stale(po):
            continue
        mo = mo_path(po)
        # Whole or not at all: test processes may compile and read the same catalogs at once.
        partial = mo.with_name(f".{mo.name}.{os.getpid()}")
        partial.write_bytes(compiled(po))
        os.replace(partial, mo)
        written.append(mo)
    return written


def iter_compiled(base_dir: Path = BASE_DIR) -> Iterator[tuple[str, bytes]]:
    """(path relative to base_dir, .mo bytes) for every catalog: what the Lambda package carries."""
    for po in po_files(base_dir):
        yield mo_path(po).relative_to(base_dir).as_posix(), compiled(po)


def fill_english(po: Path) -> None:
    """Give every untranslated entry of an `en` catalog its msgid: English is the source text.

    gettext's msgen, which keeps makemessages' own line wrapping (polib would re-wrap every entry).
    """
    subprocess.run(["msgen", "--output-file", str(po), str(po)], check=True)  # nosec B603 B607 - fixed arguments


def settle_header(po: Path) -> None:
    """makemessages writes a new catalog's header as fuzzy and without its language: say both."""
    text = po.read_text(encoding="utf-8")
    text = text.replace('#, fuzzy\nmsgid ""\nmsgstr ""\n', 'msgid ""\nmsgstr ""\n', 1)
    text = text.replace('"Language: \\n"', f'"Language: {po.parent.parent.name}\\n"', 1)
    po.write_text(text, encoding="utf-8")


def update_catalogs(base_dir: Path = BASE_DIR) -> list[Path]:
    """Run makemessages (no locations, no obsolete entries) in every catalog folder, then fill `en`.

    Django must be set up. LOCALE_PATHS is emptied for each run, so that each writes to the
    locale/ of the folder it runs in: makemessages would otherwise write every app's strings
    into the project's locale/ (the first locale path whose parent holds the file).
    """
    from django.core.management import call_command
    from django.test.utils import override_settings

    options = {"locale": list(LANGUAGE_CODES), "no_location": True, "no_obsolete": True, "verbosity": 0}
    folders = [base_dir, *sorted(app.parent for app in (base_dir / "apps").glob("*/apps.py"))]
    start = Path.cwd()
    try:
        for folder in folders:
            (folder / "locale").mkdir(exist_ok=True)
            os.chdir(folder)
            ignores = ROOT_IGNORES if folder == base_dir else []
            with override_settings(LOCALE_PATHS=[]):
                call_command("makemessages", ignore_patterns=ignores, **options)
    finally:
        os.chdir(start)
    for po in po_files(base_dir):
        settle_header(po)
        if po.parent.parent.name == "en":
            fill_english(po)
    return po_files(base_dir)
