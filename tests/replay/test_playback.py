"""The pure playback rules on hand-written transcripts: gating, id rewriting, mismatches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codexgram.replay.playback import UNEXPECTED_CODE, Playback
from codexgram.replay.transcript import frames_from, load_transcript

SCRIPT = frames_from(
    [
        ("send", {"id": 1, "method": "thread/start", "params": {}}),
        ("recv", {"id": 1, "result": {"thread": {"id": "T"}}}),
        ("recv", {"method": "thread/started", "params": {"thread": {"id": "T"}}}),
        ("recv", {"id": 0, "method": "item/commandExecution/requestApproval", "params": {"threadId": "T"}}),
        ("send", {"id": 0, "result": {"decision": "accept"}}),
        ("recv", {"method": "turn/completed", "params": {"threadId": "T"}}),
    ],
    step=0.25,
)


def test_nothing_goes_out_before_the_client_frame_recorded_before_it() -> None:
    playback = Playback(SCRIPT)
    pending = playback.next_server_frame()
    assert pending is not None
    assert (pending.index, pending.ready) == (1, False)
    assert playback.waiting_for() == ["frame 0: request thread/start", "frame 4: answer to server request 0"]


def test_answers_carry_the_clients_id_and_frames_follow_in_order() -> None:
    playback = Playback(SCRIPT)
    assert playback.client_frame({"id": 41, "method": "thread/start", "params": {"cwd": "/elsewhere"}}) == []
    pending = playback.next_server_frame()
    assert pending is not None
    assert pending.ready
    assert pending.delay == 0.25
    assert playback.take_server_frame() == {"id": 41, "result": {"thread": {"id": "T"}}}
    assert playback.take_server_frame()["method"] == "thread/started"
    assert playback.take_server_frame()["id"] == 0  # server requests keep their recorded id
    blocked = playback.next_server_frame()
    assert blocked is not None
    assert not blocked.ready  # turn/completed waits for the approval answer
    playback.client_frame({"id": 0, "result": {"decision": "accept"}})
    assert playback.take_server_frame()["method"] == "turn/completed"
    assert playback.finished
    assert playback.mismatches == []


def test_an_unexpected_request_is_refused_and_recorded() -> None:
    playback = Playback(SCRIPT)
    replies = playback.client_frame({"id": 7, "method": "thread/archive", "params": {}})
    assert len(replies) == 1
    assert replies[0]["id"] == 7
    assert replies[0]["error"]["code"] == UNEXPECTED_CODE
    assert "thread/archive" in str(playback.mismatches[0])
    # a second thread/start is unexpected too: the transcript has only one
    playback.client_frame({"id": 8, "method": "thread/start", "params": {}})
    assert playback.client_frame({"id": 9, "method": "thread/start", "params": {}})[0]["id"] == 9


def test_a_different_answer_and_a_stray_notification_are_mismatches() -> None:
    playback = Playback(SCRIPT)
    playback.client_frame({"id": 0, "result": {"decision": "decline"}})
    playback.client_frame({"method": "initialized"})
    playback.client_frame({"_raw": "garbage"})
    messages = [m.message for m in playback.mismatches]
    assert messages[0].startswith("answer to server request 0 differs")
    assert messages[1:] == [
        "unexpected notification initialized",
        "the client sent a frame that is not a JSON object",
    ]


def test_requests_match_by_method_whatever_order_the_client_sends_them() -> None:
    script = frames_from(
        [
            ("send", {"id": 1, "method": "model/list", "params": {}}),
            ("send", {"id": 2, "method": "thread/list", "params": {}}),
            ("recv", {"id": 1, "result": {"data": ["m"]}}),
            ("recv", {"id": 2, "result": {"data": ["t"]}}),
        ]
    )
    playback = Playback(script)
    playback.client_frame({"id": "b", "method": "thread/list", "params": {}})
    pending = playback.next_server_frame()
    assert pending is not None
    assert not pending.ready  # model/list (recorded first) has not come yet
    playback.client_frame({"id": "a", "method": "model/list", "params": {}})
    assert playback.take_server_frame() == {"id": "a", "result": {"data": ["m"]}}
    assert playback.take_server_frame() == {"id": "b", "result": {"data": ["t"]}}
    assert playback.finished
    assert playback.mismatches == []


TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.jsonl"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_faithful_client_always_finishes_with_its_own_ids(path: Path, data: st.DataObject) -> None:
    """Whatever the interleaving and whatever ids the client picks, a client that sends what was recorded
    plays the whole transcript, gets every answer under its own id, and causes no mismatch."""
    transcript = load_transcript(path)
    for frames in transcript.connections():
        playback = Playback(transcript, frames)
        to_send = [transcript.frames[i] for i in frames if transcript.frames[i].dir == "send"]
        our_ids: dict[Any, Any] = {}  # recorded request id -> the id we used
        answered: list[dict[str, Any]] = []
        while to_send or playback.next_server_frame() is not None:
            pending = playback.next_server_frame()
            can_take = pending is not None and pending.ready
            if to_send and (not can_take or data.draw(st.booleans())):
                msg = dict(to_send.pop(0).msg)
                if "method" in msg and "id" in msg:
                    our_ids[msg["id"]] = msg["id"] = data.draw(st.one_of(st.integers(), st.text(max_size=5)))
                playback.client_frame(msg)
            else:
                assert can_take, f"stuck at {pending} with nothing left to send"
                answered.append(playback.take_server_frame())
        assert playback.finished
        assert playback.mismatches == []
        recorded = [transcript.frames[i].msg for i in frames if transcript.frames[i].dir == "recv"]
        assert len(answered) == len(recorded)
        for sent, original in zip(answered, recorded, strict=True):
            if "method" in original:
                assert sent == original  # notifications and server requests go out as recorded
            else:
                assert sent == {**original, "id": our_ids[original["id"]]}  # answers carry our id


UNANSWERED = frames_from(
    [
        ("send", {"id": 1, "method": "turn/start", "params": {}}),
        ("recv", {"id": 1, "result": {}}),
        ("recv", {"id": 0, "method": "item/commandExecution/requestApproval", "params": {"threadId": "T"}}),
        ("send", {"id": 2, "method": "turn/interrupt", "params": {}}),
        ("recv", {"id": 2, "result": {}}),
    ]
)


def test_an_answer_the_recording_never_gave_is_a_mismatch_by_default() -> None:
    playback = Playback(UNANSWERED)
    playback.client_frame({"id": 0, "result": {"decision": "decline"}})
    assert [m.message for m in playback.mismatches] == ["unexpected answer to server request 0"]
    assert playback.notes == []


def test_the_bot_replays_allowance_notes_it_once_and_nothing_else() -> None:
    playback = Playback(UNANSWERED, allow_unrecorded_answers=True)
    playback.client_frame({"id": 0, "result": {"decision": "decline"}})
    assert playback.mismatches == []
    [note] = playback.notes
    assert "server request 0" in note
    assert "'decision': 'decline'" in note
    playback.client_frame({"id": 0, "result": {"decision": "decline"}})  # a second answer
    playback.client_frame({"id": 5, "result": {"decision": "accept"}})  # a request never made
    assert [m.message for m in playback.mismatches] == [
        "unexpected answer to server request 0",
        "unexpected answer to server request 5",
    ]
    answered = Playback(SCRIPT, allow_unrecorded_answers=True)  # a recorded answer is still compared
    answered.client_frame({"id": 1, "method": "thread/start", "params": {}})
    answered.client_frame({"id": 0, "result": {"decision": "decline"}})
    assert "differs" in answered.mismatches[0].message


def test_the_requests_received_are_kept_by_the_frame_they_matched() -> None:
    playback = Playback(SCRIPT)
    playback.client_frame({"id": 41, "method": "thread/start", "params": {"cwd": "/elsewhere"}})
    assert playback.received_requests == {
        0: {"id": 41, "method": "thread/start", "params": {"cwd": "/elsewhere"}}
    }
