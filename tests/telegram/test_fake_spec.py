"""The vendored reference and the checks built on it (pure, synchronous)."""

from __future__ import annotations

import json
from importlib import resources

import httpx
import pytest

from codexgram.testing.fake_telegram import ApiSpec, FakeTelegram
from codexgram.testing.fake_telegram.bot_methods import BotMethods
from codexgram.testing.fake_telegram.flood import FloodControl
from codexgram.testing.fake_telegram.spec import Limit
from codexgram.testing.fake_telegram.state import TelegramState


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return ApiSpec.load()


def test_the_vendored_copy_is_bot_api_10_1_with_its_source_note(spec: ApiSpec) -> None:
    assert spec.version == "Bot API 10.1"
    assert len(spec.methods) == 180
    package = resources.files("codexgram.testing").joinpath("telegram_spec")
    assert "PaulSonOfLars/telegram-bot-api-spec" in package.joinpath("SOURCE.md").read_text("utf-8")
    assert json.loads(package.joinpath("api.json").read_text("utf-8"))["version"] == "Bot API 10.1"


def test_every_method_the_fake_implements_is_in_the_reference(spec: ApiSpec) -> None:
    methods = BotMethods(TelegramState(epoch=0), FloodControl())
    for name in [*methods.handlers, "getupdates"]:
        assert spec.method(name) is not None, name


@pytest.mark.parametrize(
    ("owner", "field", "limit", "after_parsing"),
    [
        ("sendMessage", "text", Limit(minimum=1, maximum=4096, unit="characters"), True),
        ("sendDocument", "caption", Limit(minimum=0, maximum=1024, unit="characters"), True),
        ("getUpdates", "limit", Limit(minimum=1, maximum=100, unit="value"), False),
        ("answerCallbackQuery", "text", Limit(minimum=0, maximum=200, unit="characters"), False),
        ("InlineKeyboardButton", "callback_data", Limit(minimum=1, maximum=64, unit="bytes"), False),
        ("BotCommand", "command", Limit(minimum=1, maximum=32, unit="characters"), False),
        ("BotCommand", "description", Limit(minimum=1, maximum=256, unit="characters"), False),
    ],
)
def test_limits_come_from_the_descriptions(
    spec: ApiSpec, owner: str, field: str, limit: Limit, after_parsing: bool
) -> None:
    method = spec.method(owner)
    fields = method.fields if method is not None else spec.types[owner]
    assert fields[field].limit == limit
    assert fields[field].after_parsing is after_parsing


def test_object_checks_find_every_kind_of_mistake(spec: ApiSpec) -> None:
    message = {"message_id": 1, "date": 1700000000, "chat": {"id": 5, "type": "private"}, "text": "hi"}
    assert spec.check_object("Message", message) == []
    details = [v.detail for v in spec.check_object("Message", {**message, "date": "today", "colour": 1})]
    assert details == [
        "Message.date must be Integer, got String",
        "Message: unknown field 'colour' in Message",
    ]
    update = {"update_id": 3, "message": {"message_id": 1, "date": 1}}
    assert [v.detail for v in spec.check_object("Update", update)] == [
        "Update.message: Message requires field 'chat'"
    ]
    assert spec.check_object("Array of Update", [{"update_id": 1}, {"update_id": True}]) != []


def test_unions_accept_any_of_their_kinds(spec: ApiSpec) -> None:
    inaccessible = {"chat": {"id": 5, "type": "private"}, "message_id": 2, "date": 0}
    assert spec.check_object("MaybeInaccessibleMessage", inaccessible) == []
    assert spec.check_object("BotCommandScope", {"type": "default"}) == []
    assert spec.check_object("BotCommandScope", {"type": "chat"}) != []  # BotCommandScopeChat needs chat_id


def test_form_values_are_decoded_to_their_types(spec: ApiSpec) -> None:
    method = spec.method("sendMessage")
    assert method is not None
    params, violations = spec.decode_call(
        method,
        {
            "chat_id": "-100123",
            "text": "x",
            "disable_notification": "false",
            "reply_markup": '{"inline_keyboard": []}',
        },
    )
    assert violations == []
    assert params == {
        "chat_id": -100123,
        "text": "x",
        "disable_notification": False,
        "reply_markup": {"inline_keyboard": []},
    }
    _, violations = spec.decode_call(method, {"chat_id": "@name", "text": "x"})
    assert violations == []  # a username is the String alternative


async def test_results_are_checked_against_the_return_type(fake_telegram: FakeTelegram) -> None:
    fake_telegram._check_result("getMe", {"id": "seven", "is_bot": True, "first_name": "x"})
    fake_telegram._check_result("editMessageText", True)  # Message or Boolean
    assert fake_telegram.response_errors == ["getMe result: getMe.id must be Integer, got String"]
    fake_telegram.response_errors.clear()  # seen; the fixture checks the rest


async def test_a_failure_inside_the_fake_is_reported_not_hidden(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(params: object, now: float) -> object:
        raise KeyError("oops")

    monkeypatch.setitem(fake_telegram.methods.handlers, "getme", broken)
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        response = await http.post(f"/bot{fake_telegram.token}/getMe")
    assert response.status_code == 500
    assert fake_telegram.response_errors == ["getMe: the fake failed: KeyError: 'oops'"]
    fake_telegram.response_errors.clear()  # seen; the fixture checks the rest
