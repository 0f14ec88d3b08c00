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
    approval_keyboard,
    cancel_keyboard,
    decode,
    encode,
    new_callback_token,
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
