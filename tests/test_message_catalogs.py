"""The message catalogs (.po files): complete in both languages, and holding every string of the code."""

import shutil
from pathlib import Path

import polib
import pytest

from conftest import services_required
from shop_project.catalogs import BASE_DIR, LANGUAGE_CODES, catalog_dirs, compiled, po_files, update_catalogs

CATALOGS = po_files()


def catalog_id(po: Path) -> str:
    return po.relative_to(BASE_DIR).as_posix()


def test_every_catalog_folder_has_both_languages():
    for folder in catalog_dirs():
        languages = {po.parent.parent.name for po in CATALOGS if po.is_relative_to(folder / "locale")}
        assert languages == set(LANGUAGE_CODES), f"{folder.relative_to(BASE_DIR)}/locale has {languages}"


@pytest.mark.parametrize("po", CATALOGS, ids=catalog_id)
def test_every_entry_is_translated_and_none_is_fuzzy(po):
    catalog = polib.pofile(str(po))

    untranslated = [entry.msgid for entry in catalog.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalog.fuzzy_entries()]

    assert (untranslated, fuzzy) == ([], []), f"{catalog_id(po)}: untranslated {untranslated}, fuzzy {fuzzy}"
    assert catalog.metadata.get("Language") == po.parent.parent.name
    assert "Content-Type: text/plain; charset=UTF-8" in str(catalog.metadata_as_entry())


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_a_string_in_two_catalogs_is_translated_the_same_in_both(language):
    """Django merges the catalogs into one per language, and of two translations of one string
    (same context) one silently wins: the cart's "Price" (a line's total, 금액) once replaced
    the invoice's (a unit price, 가격). A word that means two things gets a context instead."""
    translations: dict[tuple, dict[str, str]] = {}
    for po in CATALOGS:
        if po.parent.parent.name != language:
            continue
        for entry in polib.pofile(str(po)).translated_entries():
            text = entry.msgstr or repr(sorted(entry.msgstr_plural.items()))
            translations.setdefault((entry.msgctxt, entry.msgid), {})[catalog_id(po)] = text

    clashes = {key: found for key, found in translations.items() if len(set(found.values())) > 1}
    assert not clashes, f"one string, different translations (add a context): {clashes}"


@pytest.mark.parametrize("po", CATALOGS, ids=catalog_id)
def test_the_catalog_compiles_to_what_gettext_reads(po, tmp_path):
    import gettext

    mo = tmp_path / "django.mo"
    mo.write_bytes(compiled(po))
    translations = gettext.GNUTranslations(mo.open("rb"))

    for entry in polib.pofile(str(po)).translated_entries():
        if not entry.msgid_plural and not entry.msgctxt:
            assert translations.gettext(entry.msgid) == entry.msgstr


def _copy_code(destination: Path) -> None:
    """The folders makemessages reads, without their catalogs: a fresh extraction."""
    left_out = shutil.ignore_patterns("__pycache__", "*.pyc", "locale", "tests", "media", "static")
    for name in ("templates", "shop_project", "apps"):
        shutil.copytree(BASE_DIR / name, destination / name, ignore=left_out)


def test_every_translatable_string_in_the_code_is_in_the_catalogs(tmp_path):
    if shutil.which("xgettext") is None:
        reason = "needs GNU gettext's xgettext (apt-get install gettext) to extract the strings"
        if services_required():
            pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}")
        pytest.skip(reason)
    _copy_code(tmp_path)

    fresh = update_catalogs(tmp_path)

    missing = {}
    for po in fresh:
        committed = BASE_DIR / po.relative_to(tmp_path)
        known = {(e.msgctxt, e.msgid) for e in polib.pofile(str(committed))} if committed.exists() else set()
        absent = [msgid for context, msgid in ((e.msgctxt, e.msgid) for e in polib.pofile(str(po)))
                  if (context, msgid) not in known]
        if absent:
            missing[po.relative_to(tmp_path).as_posix()] = absent
    assert not missing, f"strings missing from the catalogs (run make messages, then translate): {missing}"
