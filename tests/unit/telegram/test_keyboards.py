"""Callback data codec and keyboards: round trips, limits, strict refusal of anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexgram.telegram.converter import unstructure
from codexgram.telegram.keyboards import (
    ApprovalAction,
    ApprovalChoice,
    CancelAction,
    InvalidCallback,
    QueuedAction,
    QueuedChoice,
    WorkspacePick,
    approval_keyboard,
    cancel_keyboard,
    decode,
    encode,
    new_callback_token,
    queued_keyboard,
    workspace_keyboard,
)


def test_tokens_are_fresh_and_well_formed() -> None:
    tokens = {new_callback_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert len(token) == 16
        assert encode(CancelAction(token=token)) == f"c:{token}"


@pytest.mark.parametrize("choice", list(ApprovalChoice))
def test_approval_round_trip(choice: ApprovalChoice) -> None:
    token = new_callback_token()
    action = ApprovalAction(token=token, choice=choice)
    data = encode(action)
    assert data == f"a:{token}:{choice.value}"
    assert len(data.encode()) <= 64
    assert decode(data) == action
    assert decode(data, known_tokens={token}) == action


def test_unknown_token_is_refused_as_no_longer_pending() -> None:
    data = encode(ApprovalAction(token=new_callback_token(), choice=ApprovalChoice.APPROVE))
    result = decode(data, known_tokens={new_callback_token()})
    assert result == InvalidCallback(reason="This request is no longer pending.")


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "a",
        "a::y",
        "a:short:y",
        "a:AAAAAAAAAAAAAAAA:x",
        "a:AAAAAAAAAAAAAAAA:y:extra",
        "a:AAAAAAAAAAAAAAA=:y",
        "c:AAAAAAAAAAAAAAAA:y",
        "z:AAAAAAAAAAAAAAAA",
        "A:AAAAAAAAAAAAAAAA:y",
        "a:AAAAAAAAAAAAAAAA:y" + "x" * 60,
        "a:ÄAAAAAAAAAAAAAAA:y",
    ],
)
def test_malformed_data_is_refused(data: str | None) -> None:
    result = decode(data)
    assert isinstance(result, InvalidCallback)
    assert result.reason == "This button is not recognised."


@given(st.text(max_size=80))
def test_decode_never_raises_and_accepts_only_canonical_data(data: str) -> None:
    result = decode(data)
    if not isinstance(result, InvalidCallback):
        assert encode(result) == data


def test_encode_refuses_bad_tokens() -> None:
    with pytest.raises(ValueError, match="token"):
        encode(CancelAction(token="../../../../x"))


def test_approval_keyboard_layout_and_wire_shape() -> None:
    token = new_callback_token()
    markup = approval_keyboard(token)
    rows = markup.inline_keyboard
    assert [[b.text for b in row] for row in rows] == [
        ["✅ Approve", "✅ For this session"],
        ["❌ Deny", "🔎 Details"],
    ]
    decoded = [decode(b.callback_data) for row in rows for b in row]
    assert decoded == [
        ApprovalAction(token=token, choice=c)
        for c in (
            ApprovalChoice.APPROVE,
            ApprovalChoice.APPROVE_FOR_SESSION,
            ApprovalChoice.DENY,
            ApprovalChoice.DETAILS,
        )
    ]
    wire = unstructure(markup)
    assert wire["inline_keyboard"][0][0] == {"text": "✅ Approve", "callback_data": f"a:{token}:y"}
    assert [b.text for b in approval_keyboard(token, allow_session=False).inline_keyboard[0]] == [
        "✅ Approve"
    ]


def test_cancel_keyboard() -> None:
    token = new_callback_token()
    (row,) = cancel_keyboard(token).inline_keyboard
    (button,) = row
    assert button.text == "⏹ Cancel"
    assert decode(button.callback_data) == CancelAction(token=token)


def test_queued_message_buttons_round_trip() -> None:
    token = new_callback_token()
    [[steer, drop]] = queued_keyboard(token).inline_keyboard
    assert decode(steer.callback_data) == QueuedAction(token=token, choice=QueuedChoice.STEER)
    assert decode(drop.callback_data) == QueuedAction(token=token, choice=QueuedChoice.DROP)
    assert decode(f"q:{token}:z") == InvalidCallback(reason="This button is not recognised.")
    assert decode(f"q:{token}:s", known_tokens=set()) == InvalidCallback(
        reason="This request is no longer pending."
    )


def test_workspace_picker_round_trip_and_refuses_bad_names() -> None:
    markup = workspace_keyboard(["alpha", "b.e-t_a", "gamma"], current="gamma")
    rows = markup.inline_keyboard
    assert [len(row) for row in rows] == [2, 1]
    assert rows[1][0].text == "• gamma"
    assert [decode(b.callback_data) for row in rows for b in row] == [
        WorkspacePick(name="alpha"),
        WorkspacePick(name="b.e-t_a"),
        WorkspacePick(name="gamma"),
    ]
    for bad in ("w:", "w:a/b", "w:" + "x" * 33, "w:a:b"):
        assert isinstance(decode(bad), InvalidCallback)
    with pytest.raises(ValueError, match="workspace names"):
        encode(WorkspacePick(name="no spaces"))
