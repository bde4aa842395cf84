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


def test_the_permission_table_in_the_docs_is_the_one_the_server_enforces() -> None:
    from pathlib import Path

    from app.permissions import markdown_table

    page = (Path(__file__).resolve().parents[2] / "docs" / "console.md").read_text()
    assert markdown_table() in page, (
        "docs/console.md: paste app.permissions.markdown_table() over the permission table"
    )


def test_every_value_the_console_shows_from_an_enum_has_a_chinese_translation() -> None:
    """Statuses, entry types, stages and reasons are shown through `_()` by value: each value
    must be in the catalogue (marked with N_ in labels.py), or Chinese pages show it raw."""
    from domain.cards import CardStatus
    from domain.coupons import CouponStatus
    from domain.crm import LifecycleStage, RfmSegment
    from domain.feedback import FeedbackKind, FeedbackStatus
    from domain.follow_ups import FollowUpStatus
    from domain.members import ConsentChannel, ConsentSource
    from domain.points import EntryType
    from domain.staff import StaffRole, StaffStatus
    from domain.tier_policy import TierChangeReason

    shown = [
        CardStatus,
        CouponStatus,
        LifecycleStage,
        RfmSegment,
        FeedbackKind,
        FeedbackStatus,
        FollowUpStatus,
        ConsentChannel,
        ConsentSource,
        EntryType,
        StaffRole,
        StaffStatus,
        TierChangeReason,
    ]
    chinese = Formats("zh_Hans")
    raw = [
        f"{enum.__name__}.{value.name}"
        for enum in shown
        for value in enum
        if chinese.gettext(value.value) == value.value
    ]
    assert raw == []
