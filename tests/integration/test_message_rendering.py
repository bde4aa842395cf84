# ruff: noqa: RUF001 (Chinese text uses full-width punctuation)
"""The sandboxed renderer: shipped templates in both languages with Babel's formats, and
templates that reach outside their placeholders failing safely."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2.exceptions import SecurityError

from adapters.channels.templates import SandboxedTemplates, sandbox
from domain.errors import MessageTemplateInvalid
from domain.messages import SAMPLE_CONTEXTS, MessageLocale, MessageTemplate, default_template
from domain.notifications import NotificationKind as K

ZH = MessageLocale("zh-CN", "CNY", "Asia/Shanghai")
EN = MessageLocale("en", "CNY", "Asia/Shanghai")
render = SandboxedTemplates().render


def test_money_dates_and_numbers_are_written_for_the_locale() -> None:
    zh = render(
        default_template(K.POINTS_EXPIRING, "zh-CN"), SAMPLE_CONTEXTS[K.POINTS_EXPIRING], ZH
    )
    en = render(default_template(K.POINTS_EXPIRING, "en"), SAMPLE_CONTEXTS[K.POINTS_EXPIRING], EN)

    assert zh.body == "您有1,250积分（价值¥12.50）将于2026年12月31日到期，请尽快使用。"
    assert en.body == (
        "1,250 of your points (worth CN¥12.50) expire on December 31, 2026. Use them before then."
    )
    assert en.params["worth"] == "CN¥12.50"


def test_an_instant_is_dated_in_the_programmes_time_zone() -> None:
    # 16:30 UTC on New Year's Eve is already New Year's Day in Shanghai, not in Los Angeles.
    context = {
        "name": "Li",
        "title": "5 off",
        "expires_at": datetime(2026, 12, 31, 16, 30, tzinfo=UTC),
    }
    la = MessageLocale("en", "CNY", "America/Los_Angeles")
    template = default_template(K.COUPON_ISSUED, "en")

    assert "January 1, 2027" in render(template, context, EN).body
    assert "December 31, 2026" in render(template, context, la).body


def test_every_shipped_template_renders_its_sample_data() -> None:
    for kind, context in SAMPLE_CONTEXTS.items():
        for locale in (ZH, EN):
            rendered = render(default_template(kind, locale.language), context, locale)
            assert rendered.body
            assert rendered.subject
            assert "{{" not in rendered.body


@pytest.mark.parametrize(
    "body",
    [
        "{{ code.__class__ }}",
        "{{ code.__class__.__mro__[1].__subclasses__() }}",
        "{{ code['__class__'] }}",
        "{{ code|attr('__class__') }}",
        "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}",
        "{{ lipsum.__globals__ }}",
        "{{ code.upper() }}",
        "{% include 'x' %}",
        "{{ unknown_placeholder }}",
        "{{ code ",
        "{{ " + "(" * 900 + "code" + ")" * 900 + " }}",  # the parser's recursion, not a 500
    ],
)
def test_a_template_reaching_outside_its_placeholders_is_invalid(body: str) -> None:
    template = MessageTemplate(K.LOGIN_CODE, "en", "Code", body)

    with pytest.raises(MessageTemplateInvalid):
        render(template, SAMPLE_CONTEXTS[K.LOGIN_CODE], EN)


def test_the_sandbox_itself_refuses_unsafe_attributes_behind_the_shape_check() -> None:
    environment = sandbox(EN)

    with pytest.raises(SecurityError):
        environment.from_string("{{ code.__class__ }}").render(code="1")
