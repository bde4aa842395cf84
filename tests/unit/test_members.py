from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.contacts import mask_phone, require_e164, require_email
from domain.errors import BirthdayLocked, InvalidEmail, InvalidInput, InvalidPhoneNumber
from domain.members import (
    MAX_NAME_LENGTH,
    ConsentChannel,
    ConsentSource,
    Member,
    consent_changes,
    require_language,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
TODAY = date(2025, 3, 1)
MEMBER_ID = UUID(int=7)


def enrol(**changes: Any) -> Member:
    fields: dict[str, Any] = {
        "member_id": MEMBER_ID,
        "phone": "+8613800138000",
        "card_number": "8000000000000424",
        "tier_code": "member",
        "now": NOW,
        "today": TODAY,
    }
    fields.update(changes)
    return Member.enrol(**fields)


def test_enrolment_keeps_what_the_member_gave() -> None:
    member = enrol(
        name="  Li Lei ",
        email="li.lei@example.com",
        birthday=date(1990, 5, 17),
        store_id=UUID(int=3),
    )
    assert member == Member(
        id=MEMBER_ID,
        phone="+8613800138000",
        card_number="8000000000000424",
        tier_code="member",
        enrolled_at=NOW,
        name="Li Lei",
        email="li.lei@example.com",
        birthday=date(1990, 5, 17),
        enrolled_store_id=UUID(int=3),
    )


def test_a_blank_name_counts_as_no_name() -> None:
    assert enrol(name="   ").name is None
    assert enrol(name="").name is None


def test_a_name_of_exactly_the_maximum_length_is_accepted() -> None:
    assert enrol(name="x" * MAX_NAME_LENGTH).name == "x" * MAX_NAME_LENGTH


def test_a_name_longer_than_100_characters_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        enrol(name="x" * (MAX_NAME_LENGTH + 1))
    assert caught.value.field == "name"


def test_surrounding_spaces_do_not_count_towards_the_name_length() -> None:
    assert enrol(name="  " + "x" * MAX_NAME_LENGTH + "  ").name == "x" * MAX_NAME_LENGTH


def test_a_birthday_in_the_future_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        enrol(birthday=date(2025, 3, 2))
    assert caught.value.field == "birthday"


def test_a_birthday_today_is_accepted() -> None:
    assert enrol(birthday=TODAY).birthday == TODAY


@pytest.mark.parametrize("birthday", [date(1899, 12, 31), date(1, 1, 1)])
def test_a_birthday_before_1900_is_rejected(birthday: date) -> None:
    with pytest.raises(InvalidInput):
        enrol(birthday=birthday)


def test_a_birthday_on_new_year_1900_is_accepted() -> None:
    assert enrol(birthday=date(1900, 1, 1)).birthday == date(1900, 1, 1)


@pytest.mark.parametrize(
    "phone", ["13800138000", "+0123456789", "+86 138 0013 8000", "+1234", "+1234567890123456"]
)
def test_a_phone_not_in_e164_form_is_rejected(phone: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        enrol(phone=phone)


@pytest.mark.parametrize("email", ["no-at-sign", "@example.com", "someone@localhost", "a@b"])
def test_an_email_without_a_local_part_or_a_dotted_domain_is_rejected(email: str) -> None:
    with pytest.raises(InvalidEmail):
        enrol(email=email)


def test_require_email_rejects_addresses_longer_than_254_characters() -> None:
    local = "x" * 64
    domain = "d" * (254 - 64 - 1 - 4) + ".com"
    assert require_email(f"{local}@{domain}") == f"{local}@{domain}"
    with pytest.raises(InvalidEmail):
        require_email(f"{local}y@{domain}")


def test_require_e164_accepts_seven_to_fifteen_digits() -> None:
    assert require_e164("+1234567") == "+1234567"
    assert require_e164("+123456789012345") == "+123456789012345"


def test_display_name_is_the_name_when_given() -> None:
    assert enrol(name="Han Meimei").display_name == "Han Meimei"


def test_display_name_masks_the_phone_when_there_is_no_name() -> None:
    assert enrol().display_name == "+86*******8000"


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613800138000", "+86*******8000"),
        ("+14155552671", "+14*****2671"),
        ("+12345678", "+12**5678"),
        ("+1234567", "+12*4567"),
        ("+123456", "+1*****"),  # shorter than E.164 allows: all but the '+1' masked
    ],
)
def test_mask_phone_shows_the_country_code_and_last_four_digits_only(
    phone: str, masked: str
) -> None:
    assert mask_phone(phone) == masked
    assert len(mask_phone(phone)) == len(phone)


def test_the_member_sets_a_birthday_once_and_the_same_date_again_changes_nothing() -> None:
    member = enrol()

    assert member.set_own_birthday(date(1990, 5, 17), TODAY) is True
    assert member.set_own_birthday(date(1990, 5, 17), TODAY) is False
    with pytest.raises(BirthdayLocked):
        member.set_own_birthday(date(1990, 6, 17), TODAY)
    with pytest.raises(InvalidInput):
        enrol().set_own_birthday(date(2025, 3, 2), TODAY)  # tomorrow
    assert member.birthday == date(1990, 5, 17)


def test_consent_changes_record_only_the_channels_whose_state_changed() -> None:
    member = enrol()

    first = consent_changes(
        member,
        {ConsentChannel.SMS: True, ConsentChannel.PUSH: False},
        now=NOW,
        source=ConsentSource.MEMBER_APP,
    )
    second = consent_changes(
        member,
        {ConsentChannel.SMS: False, ConsentChannel.EMAIL: True},
        now=NOW,
        source=ConsentSource.ADMIN,
        actor="admin:ops",
    )

    assert [(c.channel, c.granted) for c in first] == [(ConsentChannel.SMS, True)]
    assert [(c.channel, c.granted, c.actor) for c in second] == [
        (ConsentChannel.SMS, False, "admin:ops"),
        (ConsentChannel.EMAIL, True, "admin:ops"),
    ]
    assert member.consents == frozenset({ConsentChannel.EMAIL})


@pytest.mark.parametrize("tag", ["zh", "zh-CN", "zh-Hant-TW", "en", "yue-HK", "en-US"])
def test_common_language_tags_are_accepted(tag: str) -> None:
    assert require_language(tag) == tag


@pytest.mark.parametrize("tag", ["", "english", "zh_CN", "z", "zh-", "zh-CN-x-" + "a" * 40])
def test_anything_but_a_language_tag_is_refused(tag: str) -> None:
    with pytest.raises(InvalidInput):
        require_language(tag)
