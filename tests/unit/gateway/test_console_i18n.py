"""Every word of the console exists in Russian and in English: the keys the templates and the
views ask for are all in the catalogue, both languages have the same keys, none is empty, and the
Russian text really is Russian (a copied English string would pass the other checks)."""
from __future__ import annotations

import re
from pathlib import Path

from gateway.console import i18n

CONSOLE = Path(i18n.__file__).parent
USED = re.compile(r"""\bt\(\s*'([a-z0-9_.]+)'\s*\)|translate\([^,]+,\s*['"]([a-z0-9_.]+)['"]\)""")
#: keys whose text is the same in both languages on purpose (names, identifiers)
SAME = {"msg.message_id", "lang.ru", "lang.en", "pt.inn", "pt.ogrn", "jr.id"}


def used_keys() -> set[str]:
    found = set()
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("*.py")]:
        for groups in USED.findall(path.read_text("utf-8")):
            found |= {g for g in groups if g}
    return found


def test_both_languages_have_the_same_keys_and_no_empty_text():
    assert set(i18n.CATALOGUE["ru"]) == set(i18n.CATALOGUE["en"])
    for lang in i18n.LANGUAGES:
        assert all(text.strip() for text in i18n.CATALOGUE[lang].values()), lang


def test_every_key_the_console_uses_is_in_the_catalogue():
    used = used_keys()
    assert len(used) > 100  # the reader finds them (a broken pattern would find none)
    missing = sorted(k for k in used if k not in i18n.CATALOGUE["ru"])
    assert not missing, missing
    # keys built at run time: 'role.' + the operator's role, 'cert.' + the link's place in the path
    built = {f"role.{r}" for r in ("operator", "controller", "administrator")} | \
        {f"cert.{r}" for r in ("signer", "intermediate", "anchor")}
    assert built <= set(i18n.CATALOGUE["ru"])


def test_russian_is_russian_and_english_is_english():
    for key, ru in i18n.CATALOGUE["ru"].items():
        en = i18n.CATALOGUE["en"][key]
        if key in SAME:
            continue
        assert ru != en, key
        assert re.search("[а-яё]", ru, re.I), f"{key}: {ru!r} has no Cyrillic"
        assert not re.search("[а-яё]", en.replace("ИНН", "").replace("ОГРН", ""), re.I) or key in SAME, key


def test_an_unknown_key_shows_itself():
    assert i18n.translate("en", "no.such.key") == "no.such.key"
    assert i18n.translate("xx", "login.submit") == i18n.CATALOGUE["ru"]["login.submit"]
