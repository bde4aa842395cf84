"""The console's catalogues: every text extracted from the code has a Chinese translation."""

from __future__ import annotations

from datetime import UTC, datetime

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from adapters.http.console import i18n
from adapters.http.console.i18n import Formats, chosen_locale

METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]


def _extracted() -> set[str]:
    found = extract_from_dir(
        str(i18n.LOCALES_DIR.parent), METHODS, keywords={"_": None, "N_": None}
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_console_text_has_a_chinese_translation() -> None:
    with (i18n.LOCALES_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(_extracted() - translated)
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing)


def test_the_language_comes_from_the_cookie_then_the_browser() -> None:
    assert chosen_locale(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert chosen_locale(None, "fr-FR,en;q=0.5,zh;q=0.4") == "en"
    assert chosen_locale("en", "zh-CN") == "en"
    assert chosen_locale("xx", None) == "en"


def test_money_and_dates_follow_the_locale_currency_and_time_zone() -> None:
    english = Formats("en", "CNY", "Asia/Shanghai")
    chinese = Formats("zh_Hans", "CNY", "Asia/Shanghai")
    assert english.money(123456) == "CN¥1,234.56"
    assert chinese.money(123456) == "¥1,234.56"
    assert Formats("en", "JPY", "UTC").money(1234) == "¥1,234"  # no minor unit
    instant = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 1 January in Shanghai
    assert "Jan 1, 2027" in english.datetime(instant)
    assert "2027年1月1日" in chinese.datetime(instant)
