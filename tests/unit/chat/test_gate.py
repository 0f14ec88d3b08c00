"""The gate, rule by rule (see the docstring of :mod:`codexgram.chat.gate`), on updates decoded from the JSON
Telegram sends, so each test also proves that such an update decodes into what the gate reads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexgram.chat.gate import (
    REFUSAL_INTERVAL,
    Admit,
    GateDecision,
    Ignore,
    LeaveChat,
    Refuse,
    gate,
    sender_of,
)
from codexgram.telegram.types import Update
from codexgram.testing import bot_updates as tg

ADA = tg.user(1001, "Ada", username="ada")
EVE = tg.user(666, "Eve")
OTHER_BOT = tg.user(5_000_000_002, "Helper", is_bot=True, username="helper_bot")
NOW = 1_764_950_000.0

GROUP = tg.group_chat(-4_012_345_678, "Team", kind="group")
SUPERGROUP = tg.group_chat(-1_002_233_445_566, "Big team", kind="supergroup")
CHANNEL = tg.group_chat(-1_009_988_776_655, "News", kind="channel")
NOT_PRIVATE = [GROUP, SUPERGROUP, CHANNEL]


def decide(raw: dict[str, Any], *, allowed: bool = True, last_refusal: float | None = None) -> GateDecision:
    return gate(tg.decode(raw), allowed=allowed, last_refusal=last_refusal, now=NOW)


# --- 1. no chat ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {
            "update_id": 1,
            "message_reaction": {"chat": tg.private_chat(ADA), "message_id": 3, "date": tg.DATE},
        },
        {"update_id": 2, "poll": {"id": "5", "question": "?", "options": [], "total_voter_count": 0}},
        {"update_id": 3},
        tg.callback_update(4, None, ADA, "w:demo"),  # a press on an inline-mode message: no chat
    ],
    ids=["unknown kind", "poll", "empty", "inline callback"],
)
def test_an_update_without_a_chat_is_ignored(raw: dict[str, Any]) -> None:
    update = tg.decode(raw)
    assert update.chat is None
    decision = gate(update, allowed=True, last_refusal=None, now=NOW)
    assert isinstance(decision, Ignore)
    assert "without a chat" in decision.reason
    assert isinstance(gate(update, allowed=False, last_refusal=None, now=NOW), Ignore)


# --- 2. only private chats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", NOT_PRIVATE, ids=lambda c: c["type"])
@pytest.mark.parametrize("allowed", [True, False])
def test_a_message_from_a_group_or_channel_makes_the_bot_leave(chat: dict[str, Any], allowed: bool) -> None:
    kind = "channel_post" if chat["type"] == "channel" else "message"
    sender = None if kind == "channel_post" else ADA
    update = tg.decode(tg.message_update(10, chat, sender, "hello bot", kind=kind))
    decision = gate(update, allowed=allowed, last_refusal=None, now=NOW)
    assert update.chat is not None
    assert decision == LeaveChat(chat=update.chat, user_id=None if sender is None else ADA["id"], leave=True)
    assert decision.chat.id == chat["id"]
    assert decision.chat.type == chat["type"]


@pytest.mark.parametrize("chat", NOT_PRIVATE, ids=lambda c: c["type"])
def test_an_edited_message_or_post_from_a_group_or_channel_makes_the_bot_leave(chat: dict[str, Any]) -> None:
    kind = "edited_channel_post" if chat["type"] == "channel" else "edited_message"
    sender = None if chat["type"] == "channel" else ADA
    decision = decide(tg.message_update(11, chat, sender, "fixed typo", kind=kind))
    assert isinstance(decision, LeaveChat)
    assert decision.leave is True
    assert decision.chat.id == chat["id"]


def test_a_command_from_an_allowed_user_in_a_group_still_leaves() -> None:
    decision = decide(tg.message_update(12, SUPERGROUP, ADA, "/start@codexgram_test_bot"), allowed=True)
    assert isinstance(decision, LeaveChat)
    assert decision.user_id == ADA["id"]
    assert decision.leave


def test_a_bot_writing_in_a_group_still_makes_the_bot_leave() -> None:
    decision = decide(tg.message_update(13, GROUP, OTHER_BOT, "beep"))
    assert isinstance(decision, LeaveChat)
    assert decision.user_id == OTHER_BOT["id"]
    assert decision.leave


@pytest.mark.parametrize("chat", [GROUP, SUPERGROUP], ids=lambda c: c["type"])
@pytest.mark.parametrize("inaccessible", [False, True])
def test_a_button_press_on_a_group_message_leaves_that_group(
    chat: dict[str, Any], inaccessible: bool
) -> None:
    raw = tg.callback_update(14, chat, ADA, "w:demo", inaccessible=inaccessible)
    decision = decide(raw, allowed=True)
    assert isinstance(decision, LeaveChat)
    assert decision.chat.id == chat["id"]
    assert decision.user_id == ADA["id"]
    assert decision.leave


@pytest.mark.parametrize("chat", NOT_PRIVATE, ids=lambda c: c["type"])
@pytest.mark.parametrize("status", ["member", "administrator", "restricted"])
def test_being_added_to_a_group_or_channel_leaves_it(chat: dict[str, Any], status: str) -> None:
    decision = decide(tg.my_chat_member_update(15, chat, ADA, old="left", new=status))
    assert isinstance(decision, LeaveChat)
    assert decision.leave is True
    assert decision.user_id == ADA["id"]


@pytest.mark.parametrize("chat", NOT_PRIVATE, ids=lambda c: c["type"])
@pytest.mark.parametrize("status", ["left", "kicked"])
def test_being_removed_from_a_group_is_only_audited(chat: dict[str, Any], status: str) -> None:
    decision = decide(tg.my_chat_member_update(16, chat, EVE, old="member", new=status), allowed=False)
    assert isinstance(decision, LeaveChat)
    assert decision.leave is False  # out already: nothing to leave
    assert decision.user_id == EVE["id"]
    assert decision.chat.id == chat["id"]


# --- 3. membership of a private chat ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"), [("member", "kicked"), ("kicked", "member")], ids=["block", "unblock"]
)
@pytest.mark.parametrize("allowed", [True, False])
def test_blocking_or_unblocking_the_bot_in_private_is_ignored(old: str, new: str, allowed: bool) -> None:
    decision = decide(
        tg.my_chat_member_update(17, tg.private_chat(ADA), ADA, old=old, new=new), allowed=allowed
    )
    assert isinstance(decision, Ignore)
    assert "membership" in decision.reason


# --- 4. no human sender -------------------------------------------------------------------------------------


def test_a_private_message_without_a_sender_is_ignored() -> None:
    decision = decide(tg.message_update(18, tg.private_chat(ADA), None, "who am I"), allowed=False)
    assert isinstance(decision, Ignore)
    assert decision.reason == "no human sender"


@pytest.mark.parametrize("allowed", [True, False])
def test_a_bot_sender_in_private_is_ignored_even_if_allowlisted(allowed: bool) -> None:
    decision = decide(tg.message_update(19, tg.private_chat(OTHER_BOT), OTHER_BOT, "/start"), allowed=allowed)
    assert isinstance(decision, Ignore)
    assert decision.reason == "no human sender"


# --- 5. only allowlisted users ------------------------------------------------------------------------------


def private_updates(sender: dict[str, Any]) -> list[dict[str, Any]]:
    chat = tg.private_chat(sender)
    return [
        tg.message_update(20, chat, sender, "rm -rf / please"),
        tg.message_update(21, chat, sender, "/start"),
        tg.message_update(22, chat, sender, "better text", kind="edited_message"),
        tg.message_update(23, chat, sender, photo=True, caption="look"),
        tg.callback_update(24, chat, sender, "w:demo"),
        tg.callback_update(25, chat, sender, "c:AAAAAAAAAAAAAAAA"),
        tg.callback_update(26, chat, sender, "garbage"),
    ]


@pytest.mark.parametrize("index", range(7))
def test_a_user_not_allowed_is_refused_and_told_the_first_time(index: int) -> None:
    raw = private_updates(EVE)[index]
    decision = decide(raw, allowed=False, last_refusal=None)
    assert isinstance(decision, Refuse)
    assert decision.tell is True
    assert decision.user.id == EVE["id"]
    assert decision.chat.id == EVE["id"]
    assert decision.chat.type == "private"


def test_the_refusal_is_told_at_most_once_per_interval_exact_boundary() -> None:
    update = tg.decode(tg.message_update(30, tg.private_chat(EVE), EVE, "hello?"))
    told = 1_000_000.0

    def tell(now: float) -> bool:
        decision = gate(update, allowed=False, last_refusal=told, now=now)
        assert isinstance(decision, Refuse)
        return decision.tell

    assert tell(told) is False  # the same moment (a burst of messages)
    assert tell(told + 1.0) is False
    assert tell(told + REFUSAL_INTERVAL - 0.001) is False
    assert tell(told + REFUSAL_INTERVAL) is True  # exactly an interval later: told again
    assert tell(told + REFUSAL_INTERVAL + 0.001) is True
    assert tell(told + 10 * REFUSAL_INTERVAL) is True
    assert tell(told - 5.0) is False  # a clock that went back does not make the bot chatty
    assert REFUSAL_INTERVAL == 3600.0  # the issue: at most once an hour per user


def test_a_button_press_of_a_user_not_allowed_is_refused_not_acted_on() -> None:
    decision = decide(
        tg.callback_update(31, tg.private_chat(EVE), EVE, "q:AAAAAAAAAAAAAAAA:s"),
        allowed=False,
        last_refusal=NOW - 10,
    )
    assert isinstance(decision, Refuse)
    assert decision.tell is False


# --- 6. allowed users ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(7))
def test_an_allowed_user_in_private_is_admitted(index: int) -> None:
    raw = private_updates(ADA)[index]
    update = tg.decode(raw)
    decision = gate(update, allowed=True, last_refusal=None, now=NOW)
    assert isinstance(decision, Admit)
    assert decision.user.id == ADA["id"]
    assert decision.user.first_name == "Ada"
    assert decision.user.username == "ada"
    assert decision.chat.id == ADA["id"]
    assert decision.chat.is_private


def test_an_allowed_user_is_admitted_whatever_an_old_refusal_says() -> None:
    decision = decide(
        tg.message_update(32, tg.private_chat(ADA), ADA, "hi"), allowed=True, last_refusal=NOW - 1
    )
    assert isinstance(decision, Admit)


def test_the_sender_of_each_kind() -> None:
    chat = tg.private_chat(ADA)
    assert sender_of(tg.decode(tg.message_update(40, chat, ADA, "x"))) is not None
    press = tg.decode(tg.callback_update(41, chat, EVE, "w:demo"))
    sender = sender_of(press)
    assert sender is not None
    assert sender.id == EVE["id"]  # who pressed, not who wrote the message (the bot)
    member = tg.decode(tg.my_chat_member_update(42, GROUP, EVE, old="left", new="member"))
    changer = sender_of(member)
    assert changer is not None
    assert changer.id == EVE["id"]
    post = tg.decode(tg.message_update(43, CHANNEL, None, "news", kind="channel_post"))
    assert sender_of(post) is None
    assert sender_of(tg.decode({"update_id": 44, "poll": {"id": "1"}})) is None


# --- properties ---------------------------------------------------------------------------------------------

_users = st.builds(
    tg.user,
    st.integers(min_value=1, max_value=2**52),
    st.text(min_size=1, max_size=10),
    is_bot=st.booleans(),
    username=st.none() | st.from_regex(r"[a-z][a-z0-9_]{4,12}", fullmatch=True),
)
_texts = (
    st.none() | st.text(max_size=30) | st.sampled_from(["/start", "/cancel", "/new x", "/workspace demo"])
)
_data = st.none() | st.sampled_from(["w:demo", "c:AAAAAAAAAAAAAAAA", "q:AAAAAAAAAAAAAAAA:x", "junk", ""])
_statuses = st.sampled_from(["creator", "administrator", "member", "restricted", "left", "kicked"])
_times = st.none() | st.floats(min_value=0, max_value=2e9, allow_nan=False)


@st.composite
def _updates(draw: st.DrawFn, chat: dict[str, Any]) -> dict[str, Any]:
    update_id = draw(st.integers(min_value=1, max_value=2**31))
    sender = draw(_users)
    kind = draw(
        st.sampled_from(
            [
                "message",
                "edited_message",
                "channel_post",
                "edited_channel_post",
                "callback_query",
                "my_chat_member",
            ]
        )
    )
    if kind == "callback_query":
        return tg.callback_update(update_id, chat, sender, draw(_data), inaccessible=draw(st.booleans()))
    if kind == "my_chat_member":
        return tg.my_chat_member_update(update_id, chat, sender, old=draw(_statuses), new=draw(_statuses))
    maybe_sender = draw(st.none() | st.just(sender))
    return tg.message_update(
        update_id,
        chat,
        maybe_sender,
        draw(_texts),
        kind=kind,
        photo=draw(st.booleans()),
        document=draw(st.booleans()),
    )


@st.composite
def _non_private_updates(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["group", "supergroup", "channel"]) | st.text(min_size=1, max_size=8))
    if kind == "private":
        kind = "group"
    chat = {"id": draw(st.integers(min_value=-(2**52), max_value=-1)), "type": kind, "title": "t"}
    return draw(_updates(chat))


@st.composite
def _private_updates(draw: st.DrawFn) -> dict[str, Any]:
    return draw(_updates(tg.private_chat(draw(_users))))


@given(raw=_non_private_updates(), allowed=st.booleans(), last=_times, now=st.floats(0, 2e9, allow_nan=False))
def test_any_update_from_a_chat_not_private_is_leave_chat(
    raw: dict[str, Any], allowed: bool, last: float | None, now: float
) -> None:
    update = tg.decode(raw)
    assert update.chat is not None
    decision = gate(update, allowed=allowed, last_refusal=last, now=now)
    assert isinstance(decision, LeaveChat)
    assert decision.chat == update.chat


@given(raw=_private_updates(), last=_times, now=st.floats(0, 2e9, allow_nan=False))
def test_a_sender_not_allowed_in_private_is_never_admitted(
    raw: dict[str, Any], last: float | None, now: float
) -> None:
    update: Update = tg.decode(raw)
    decision = gate(update, allowed=False, last_refusal=last, now=now)
    assert not isinstance(decision, Admit)
    assert not isinstance(decision, LeaveChat)
    if isinstance(decision, Refuse):
        assert decision.tell == (last is None or now - last >= REFUSAL_INTERVAL)
        sender = sender_of(update)
        assert sender is not None
        assert decision.user == sender
        assert not sender.is_bot
