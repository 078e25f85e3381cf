"""The Japanese catalogues (the project's and each app's own) are complete, each compiled .mo
matches its .po, and pages use them.

When source strings change, run `make messages` (makemessages + compilemessages), translate
every new entry in locale/ja/LC_MESSAGES/django.po and commit both django.po and django.mo.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

MESSAGES = Path(django_settings.LOCALE_PATHS[0]) / "ja" / "LC_MESSAGES"
PO = MESSAGES / "django.po"
MO = MESSAGES / "django.mo"
#: The project's catalogue first, then every app's own (alerts, directory, governance, …).
CATALOGUES = [
    PO,
    *sorted(
        p
        for p in Path(__file__).resolve().parents[2].glob("*/locale/ja/LC_MESSAGES/django.po")
        if p != PO
    ),
]

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\{\s*\w+\s*\}\}")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)  # msgctxt, msgid, msgstr[0], …

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> dict[str, str]:
        return {k: v for k, v in self.fields.items() if k.startswith("msgstr")}

    def __str__(self) -> str:
        return f"django.po line {self.line}: {self.msgid!r}"


def parse_po(path: Path) -> list[Entry]:
    """A small parser for the .po files makemessages writes; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    keyword = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            flags = set()
        elif line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif not line or line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert current is not None and keyword, f"django.po line {number}: stray string"
            current.fields[keyword] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            new_entry = current is None or current.translations or keyword in current.fields
            if keyword in ("msgctxt", "msgid") and new_entry:
                current = Entry(line=number, flags=flags)
                entries.append(current)
                flags = set()
            assert current is not None, f"django.po line {number}: {keyword} before msgid"
            current.fields[keyword] = ast.literal_eval(value)
    return entries


def catalogue_of_po(entries: list[Entry]) -> dict[Any, str]:
    """What msgfmt puts in the .mo: no fuzzy entries (except the header), no empty ones."""
    catalogue: dict[Any, str] = {}
    for entry in entries:
        if "fuzzy" in entry.flags and entry.msgid:
            continue
        key = entry.msgid
        if "msgctxt" in entry.fields:
            key = f"{entry.fields['msgctxt']}\x04{key}"
        if "msgid_plural" in entry.fields:
            forms = sorted(k for k in entry.translations if k != "msgstr")
            if all(entry.fields[k] for k in forms):
                for index, form in enumerate(forms):
                    catalogue[(key, index)] = entry.fields[form]
        elif entry.fields.get("msgstr"):
            catalogue[key] = entry.fields["msgstr"]
    return catalogue


def catalogue_of_mo(path: Path) -> dict[Any, str]:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def comparable(catalogue: dict[Any, str]) -> dict[Any, str]:
    """Newer msgfmt versions leave POT-Creation-Date out of the compiled header; ignore it."""
    header = catalogue.get("", "")
    kept = [line for line in header.splitlines(True) if not line.startswith("POT-Creation-Date:")]
    return {**catalogue, "": "".join(kept)}


@pytest.fixture(scope="module", params=CATALOGUES, ids=lambda p: p.parents[3].name)
def catalogue(request: pytest.FixtureRequest) -> Path:
    return Path(request.param)


@pytest.fixture(scope="module")
def entries(catalogue: Path) -> list[Entry]:
    parsed = parse_po(catalogue)
    assert len(parsed) > (100 if catalogue == PO else 20), f"{catalogue} looks truncated"
    return parsed


def test_header_declares_japanese(entries: list[Entry]) -> None:
    (header,) = [e for e in entries if e.msgid == ""]
    assert "fuzzy" not in header.flags
    assert "Language: ja\n" in header.fields["msgstr"]
    assert "charset=UTF-8" in header.fields["msgstr"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header.fields["msgstr"]


def test_every_message_is_translated_and_none_is_fuzzy(entries: list[Entry]) -> None:
    fuzzy = [str(e) for e in entries if "fuzzy" in e.flags]
    empty = [str(e) for e in entries if e.msgid and not all(e.translations.values())]
    assert not fuzzy, "fuzzy entries (check the translation, then remove the flag):\n" + "\n".join(
        fuzzy
    )
    assert not empty, "untranslated entries:\n" + "\n".join(empty)


def test_translations_keep_placeholders_and_markup(entries: list[Entry]) -> None:
    for entry in entries:
        if not entry.msgid:
            continue
        for translation in entry.translations.values():
            assert sorted(PLACEHOLDER.findall(translation)) == sorted(
                PLACEHOLDER.findall(entry.msgid)
            ), entry
            assert sorted(TAG.findall(translation)) == sorted(TAG.findall(entry.msgid)), entry


def test_compiled_catalogue_matches_po(catalogue: Path, entries: list[Entry]) -> None:
    stale = f"{catalogue.with_suffix('.mo')} is out of date: run `make messages`"
    mo = catalogue_of_mo(catalogue.with_suffix(".mo"))
    assert comparable(mo) == comparable(catalogue_of_po(entries)), stale


def test_msgfmt_output_matches_committed_mo(catalogue: Path, tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        if os.environ.get("CI"):  # CI installs gettext: there a missing msgfmt is a failure
            pytest.fail("GNU gettext (msgfmt) is not installed")
        pytest.skip("GNU gettext (msgfmt) is not installed")
    fresh = tmp_path / "django.mo"
    subprocess.run(
        [msgfmt, "--check-format", "--check-header", "-o", str(fresh), str(catalogue)],
        check=True,
        capture_output=True,
    )
    stale = f"{catalogue.with_suffix('.mo')} is out of date: run `make messages`"
    mo = catalogue_of_mo(catalogue.with_suffix(".mo"))
    assert comparable(mo) == comparable(catalogue_of_mo(fresh)), stale


@pytest.mark.django_db
def test_subscribe_page_is_japanese_by_default(client: Any) -> None:
    response = client.get("/subscribe/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ja"' in page
    assert "確認メールを送信する" in page
    assert "防犯・防災メールの登録" in page
    assert "Send the confirmation mail" not in page


@pytest.mark.django_db
def test_language_cookie_switches_subscribe_page_to_english(client: Any) -> None:
    client.cookies["django_language"] = "en"
    response = client.get("/subscribe/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert "Send the confirmation mail" in page
    assert "確認メールを送信する" not in page


# --- every string the code uses is translated ---------------------------------------------------

SRC = Path(__file__).resolve().parents[2]  # src/anshin
#: Each app's package, and the project's own modules and templates (settings, base.html).
AREAS = sorted(p.parent.name for p in SRC.glob("*/apps.py")) + ["project"]
#: The keywords makemessages gives xgettext for the "django" domain (Python's own are implied).
XGETTEXT = [
    "--language=Python",
    "--from-code=UTF-8",
    "--keyword=gettext_noop",
    "--keyword=gettext_lazy",
    "--keyword=ngettext_lazy:1,2",
    "--keyword=pgettext:1c,2",
    "--keyword=npgettext:1c,2,3",
    "--keyword=pgettext_lazy:1c,2",
    "--keyword=npgettext_lazy:1c,2,3",
    "--output=-",
]


def sources_of(area: str) -> list[Path]:
    """What makemessages reads for `area` (.py, .html, .txt), without tests and browser tests:
    they show nothing to a user."""
    if area == "project":
        found = [*SRC.glob("*.py"), *(SRC / "templates").rglob("*")]
    else:
        found = list((SRC / area).rglob("*"))
    return sorted(
        path
        for path in found
        if path.suffix in (".py", ".html", ".txt")
        and path.is_file()
        and not {"tests", "e2e", "locale"} & set(path.relative_to(SRC).parts)
        and path.name != "conftest.py"
    )


def used_messages(area: str, work: Path) -> list[Entry]:
    """The messages of `area` as makemessages finds them: templates through Django's own
    templatize() ({% translate %}, {% blocktranslate %}, their old names and _("…") in
    variables), then xgettext with makemessages' keywords."""
    from django.utils.translation import templatize

    inputs = []
    for path in sources_of(area):
        if path.suffix == ".py":
            inputs.append(path)
            continue
        converted = work / f"{path.relative_to(SRC)}.py"
        converted.parent.mkdir(parents=True, exist_ok=True)
        converted.write_text(templatize(path.read_text(encoding="utf-8"), origin=str(path)))
        inputs.append(converted)
    pot = work / "used.pot"
    result = subprocess.run(
        ["xgettext", *XGETTEXT, *map(str, inputs)], check=True, capture_output=True, text=True
    )
    pot.write_text(result.stdout, encoding="utf-8")
    return [entry for entry in parse_po(pot) if entry.msgid] if result.stdout else []


def keys_of(entry: Entry) -> list[Any]:
    """The catalogue keys gettext looks the entry up by (with context; each plural form)."""
    key = entry.msgid
    if "msgctxt" in entry.fields:
        key = f"{entry.fields['msgctxt']}\x04{key}"
    return [(key, 0)] if "msgid_plural" in entry.fields else [key]


@pytest.mark.parametrize("area", AREAS)
def test_every_string_the_code_uses_is_translated(area: str, tmp_path: Path) -> None:
    """What a Japanese page shows: Django merges LOCALE_PATHS, each app's catalogue and its
    own into one catalogue per language, and a msgid missing from it stays English."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext (xgettext) is not installed")
        pytest.skip("GNU gettext (xgettext) is not installed")
    from django.utils.translation.trans_real import DjangoTranslation

    catalogue = DjangoTranslation("ja")._catalog  # type: ignore[attr-defined]
    used = used_messages(area, tmp_path)
    missing = sorted({e.msgid for e in used if not all(catalogue.get(key) for key in keys_of(e))})
    assert missing == [], f"{area}: used but not translated into Japanese:\n" + "\n".join(missing)
