"""Round trips through the converter: what we encode decodes back to the same value (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from codexgram.codex import requests as r
from codexgram.codex.converter import decode_result, encode_params
from codexgram.codex.items import ImageInput, LocalImageInput, TextInput
from codexgram.codex.server_requests import ApprovalDecision, ApprovalResponse

TEXT = st.text(max_size=20)
MAYBE_TEXT = st.none() | TEXT
INPUTS = st.one_of(
    st.builds(TextInput, text=TEXT),
    st.builds(ImageInput, url=TEXT),
    st.builds(ImageInput, file_id=TEXT),
    st.builds(LocalImageInput, path=TEXT),
)
INPUT_TUPLES = st.lists(INPUTS, min_size=1, max_size=4).map(tuple)
POLICIES = st.none() | st.sampled_from(r.ApprovalPolicy)
SANDBOX_POLICIES = st.none() | st.builds(r.SandboxPolicy, type=st.sampled_from(r.SandboxPolicyType))

PARAMS = st.one_of(
    st.builds(
        r.InitializeParams,
        client_info=st.builds(r.ClientInfo, name=TEXT, version=TEXT, title=MAYBE_TEXT),
        capabilities=st.none()
        | st.builds(
            r.InitializeCapabilities,
            experimental_api=st.booleans(),
            opt_out_notification_methods=st.none() | st.lists(TEXT, max_size=3).map(tuple),
        ),
    ),
    st.builds(
        r.ThreadStartParams,
        cwd=TEXT,
        model=MAYBE_TEXT,
        approval_policy=POLICIES,
        sandbox=st.none() | st.sampled_from(r.SandboxMode),
        developer_instructions=MAYBE_TEXT,
        ephemeral=st.none() | st.booleans(),
    ),
    st.builds(r.ThreadResumeParams, thread_id=TEXT, exclude_turns=st.booleans(), cwd=MAYBE_TEXT),
    st.builds(r.ThreadForkParams, thread_id=TEXT, last_turn_id=MAYBE_TEXT),
    st.builds(
        r.ThreadListParams,
        cursor=MAYBE_TEXT,
        limit=st.none() | st.integers(0, 100),
        archived=st.none() | st.booleans(),
        search_term=MAYBE_TEXT,
    ),
    st.builds(r.ThreadSetNameParams, thread_id=TEXT, name=TEXT),
    st.builds(
        r.TurnStartParams,
        thread_id=TEXT,
        input=INPUT_TUPLES,
        cwd=MAYBE_TEXT,
        effort=MAYBE_TEXT,
        approval_policy=POLICIES,
        sandbox_policy=SANDBOX_POLICIES,
    ),
    st.builds(r.TurnSteerParams, thread_id=TEXT, input=INPUT_TUPLES, expected_turn_id=TEXT),
    st.builds(r.TurnInterruptParams, thread_id=TEXT, turn_id=TEXT),
    st.builds(r.ModelListParams, include_hidden=st.none() | st.booleans()),
    st.builds(r.GitDiffToRemoteParams, cwd=TEXT),
    st.builds(ApprovalResponse, decision=st.sampled_from(ApprovalDecision)),
)


@given(PARAMS)
def test_encode_then_decode_is_identity(obj: Any) -> None:
    wire = encode_params(obj)
    assert None not in wire.values()
    assert decode_result(type(obj), wire) == obj
