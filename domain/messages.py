# ruff: noqa: RUF001 (Chinese text uses full-width punctuation, as it should)
"""Messages to members: which kinds are marketing, which language a member reads, the templates
shipped for each kind and language, and which channel a message goes out on.

A template is text with ``{{ placeholders }}`` (rendered in a sandbox by an adapter). The
programme ships a default for every kind and supported language; an admin may override one,
and removing the override brings the default back. Marketing messages go only to members who
consented on the channel; transactional ones (a login code, a receipt of the member's own
action, a change of their standing) go regardless. Consent is read when the message is sent,
not when it is queued: a withdrawal stops what is still waiting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from domain.errors import InvalidInput
from domain.members import ConsentChannel
from domain.notifications import NotificationKind

SUPPORTED_LANGUAGES = ("zh-CN", "en")
MAX_SUBJECT_LENGTH = 200
MAX_BODY_LENGTH = 2_000


class Purpose(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


# Coupons a member gets for something they did (a prize they drew, a review they wrote) are a
# receipt of their own action; the others (campaigns, goodwill by staff) are marketing.
_OWN_ACTION_COUPONS = frozenset({"draw", "review"})


def purpose_of(kind: NotificationKind, payload: Mapping[str, object]) -> Purpose:
    if kind in (NotificationKind.POINTS_EXPIRING, NotificationKind.BIRTHDAY):
        return Purpose.MARKETING
    if kind is NotificationKind.COUPON_ISSUED:
        # A row queued before coupons carried their source counts as marketing: the safe side.
        source = payload.get("source")
        return Purpose.TRANSACTIONAL if source in _OWN_ACTION_COUPONS else Purpose.MARKETING
    return Purpose.TRANSACTIONAL


def message_language(preferred: str | None, programme: str) -> str:
    """The supported language closest to the member's preferred BCP 47 tag (zh, zh-CN,
    zh-Hans-SG -> zh-CN; en-GB -> en), else the programme's."""
    for tag in (preferred, programme):
        if not tag:
            continue
        primary = tag.split("-")[0].lower()
        if primary == "zh":
            return "zh-CN"
        if primary == "en":
            return "en"
    return SUPPORTED_LANGUAGES[0]


def require_language_supported(language: str) -> str:
    if language not in SUPPORTED_LANGUAGES:
        raise InvalidInput(
            f"messages are written in {', '.join(SUPPORTED_LANGUAGES)}", field="language"
        )
    return language


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    kind: NotificationKind
    language: str
    subject: str  # the e-mail's subject; SMS sends the body alone
    body: str

    def __post_init__(self) -> None:
        if not self.subject.strip() or len(self.subject) > MAX_SUBJECT_LENGTH:
            raise InvalidInput(
                f"subject must have 1-{MAX_SUBJECT_LENGTH} characters", field="subject"
            )
        if not self.body.strip() or len(self.body) > MAX_BODY_LENGTH:
            raise InvalidInput(f"body must have 1-{MAX_BODY_LENGTH} characters", field="body")


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """An admin's override of a shipped template."""

    template: MessageTemplate
    updated_at: datetime
    actor: str


class MessageTemplateRepository(Protocol):
    async def get(self, kind: NotificationKind, language: str) -> StoredTemplate | None: ...

    async def all(self) -> Sequence[StoredTemplate]: ...

    async def save(self, stored: StoredTemplate) -> None:
        """Adds or replaces the override of (kind, language)."""
        ...

    async def remove(self, kind: NotificationKind, language: str) -> bool:
        """Drops the override (the shipped default applies again); False if there was none."""
        ...


def _t(kind: NotificationKind, zh: tuple[str, str], en: tuple[str, str]) -> list[MessageTemplate]:
    return [MessageTemplate(kind, "zh-CN", *zh), MessageTemplate(kind, "en", *en)]


_K = NotificationKind
DEFAULT_TEMPLATES: Mapping[tuple[NotificationKind, str], MessageTemplate] = {
    (t.kind, t.language): t
    for t in [
        *_t(
            _K.LOGIN_CODE,
            ("登录验证码", "您的登录验证码：{{ code }}，{{ minutes }}分钟内有效。请勿告诉他人。"),
            (
                "Your login code",
                "Your login code is {{ code }}. It expires in {{ minutes }} minutes. "
                "Never share it.",
            ),
        ),
        *_t(
            _K.TIER_CHANGED,
            (
                "会员等级变更",
                "{{ name }}您好，您的会员等级已由{{ from_tier }}变更为{{ to_tier }}。",
            ),
            (
                "Your membership tier changed",
                "Hello {{ name }}, your membership tier changed from {{ from_tier }} "
                "to {{ to_tier }}.",
            ),
        ),
        *_t(
            _K.POINTS_EXPIRING,
            (
                "积分即将到期",
                "您有{{ points|number }}积分（价值{{ worth|money }}）将于"
                "{{ expires_on|date }}到期，请尽快使用。",
            ),
            (
                "Your points are expiring",
                "{{ points|number }} of your points (worth {{ worth|money }}) expire on "
                "{{ expires_on|date }}. Use them before then.",
            ),
        ),
        *_t(
            _K.COUPON_ISSUED,
            ("您获得一张优惠券", "您获得一张优惠券：{{ title }}，有效期至{{ expires_at|date }}。"),
            (
                "You have a new coupon",
                "You have a new coupon: {{ title }}, valid until {{ expires_at|date }}.",
            ),
        ),
        *_t(
            _K.BIRTHDAY,
            (
                "生日快乐",
                "{{ name }}生日快乐！送您一张生日优惠券：{{ title }}，"
                "有效期至{{ expires_at|date }}。",
            ),
            (
                "Happy birthday",
                "Happy birthday, {{ name }}! Here is a birthday coupon for you: {{ title }}, "
                "valid until {{ expires_at|date }}.",
            ),
        ),
        *_t(
            _K.REWARD_REDEEMED,
            ("兑换成功", "您已使用{{ points|number }}积分兑换{{ title }}。"),
            (
                "Reward redeemed",
                "You redeemed {{ points|number }} points for {{ title }}.",
            ),
        ),
    ]
}

# What each kind's template may use, with the sample values a preview renders.
_SAMPLE_DAY = date(2026, 12, 31)
_SAMPLE_INSTANT = datetime.fromisoformat("2026-12-31T15:59:59+00:00")
SAMPLE_CONTEXTS: Mapping[NotificationKind, Mapping[str, object]] = {
    _K.LOGIN_CODE: {"code": "246810", "minutes": 5},
    _K.TIER_CHANGED: {"name": "Li Lei", "from_tier": "Member", "to_tier": "Gold"},
    _K.POINTS_EXPIRING: {
        "name": "Li Lei",
        "points": 1250,
        "worth": 1250,  # minor units of the programme's currency
        "expires_on": _SAMPLE_DAY,
    },
    _K.COUPON_ISSUED: {"name": "Li Lei", "title": "10% off", "expires_at": _SAMPLE_INSTANT},
    _K.BIRTHDAY: {"name": "Li Lei", "title": "Birthday treat", "expires_at": _SAMPLE_INSTANT},
    _K.REWARD_REDEEMED: {"name": "Li Lei", "title": "Tote bag", "points": 800},
}


def default_template(kind: NotificationKind, language: str) -> MessageTemplate:
    return DEFAULT_TEMPLATES[(kind, require_language_supported(language))]


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the sender needs to know about a member at the moment of sending."""

    phone: str | None
    email: str | None
    preferred_language: str | None
    consents: frozenset[ConsentChannel]
    name: str | None = None
    erased: bool = False


def choose_channel(
    recipient: Recipient, purpose: Purpose, available: frozenset[ConsentChannel]
) -> ConsentChannel | None:
    """E-mail first, then SMS, among the channels the service can send on and the member can
    be reached by; a marketing message only on a channel the member consented to. None: the
    message is withheld."""
    if recipient.erased:
        return None
    reachable = {
        ConsentChannel.EMAIL: recipient.email is not None,
        ConsentChannel.SMS: recipient.phone is not None,
    }
    for channel in (ConsentChannel.EMAIL, ConsentChannel.SMS):
        if channel not in available or not reachable[channel]:
            continue
        if purpose is Purpose.MARKETING and channel not in recipient.consents:
            continue
        return channel
    return None


@dataclass(frozen=True, slots=True)
class MessageLocale:
    """How values are written: the message's language, the programme's currency and zone."""

    language: str
    currency: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    subject: str
    body: str
    # Each placeholder's value as written in the text, for gateways that send an approved
    # template with parameters instead of text.
    params: Mapping[str, str]


class MessageRenderer(Protocol):
    def render(
        self, template: MessageTemplate, context: Mapping[str, object], locale: MessageLocale
    ) -> RenderedMessage:
        """Renders in a sandbox; raises MessageTemplateInvalid when the template does not
        compile, reaches for anything but its placeholders and filters, or fails."""
        ...
