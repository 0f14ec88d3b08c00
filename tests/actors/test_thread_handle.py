"""What a chat holds to talk to a thread's actor (:class:`ThreadHandle`): a wake-up with prompts is never
lost, even when the actor's mailbox is full; any other command that does not fit is refused."""

from __future__ import annotations

import pytest
import trio

from codexgram.actors.thread_actor import ThreadHandle
from codexgram.chat.thread_effects import Prompt
from codexgram.errors import MailboxFull
from codexgram.messages import CancelTurn, PromptsQueued, ThreadCommand


def test_a_prompt_wake_up_that_does_not_fit_is_remembered() -> None:
    send, receive = trio.open_memory_channel[ThreadCommand](1)
    handle = ThreadHandle("thread-1", send)
    first = PromptsQueued(prompts=(Prompt(update_id=1, user_id=7, text="one"),))
    handle.tell(first)
    missed_after_first = handle.prompts_missed
    handle.tell(PromptsQueued(prompts=(Prompt(update_id=2, user_id=7, text="two"),)))
    assert (missed_after_first, handle.prompts_missed) == (False, True)  # read from the store on a tick
    assert receive.receive_nowait() == first


def test_another_command_that_does_not_fit_is_refused() -> None:
    send, _receive = trio.open_memory_channel[ThreadCommand](1)
    handle = ThreadHandle("thread-1", send)
    handle.tell(CancelTurn(turn_id=None))
    with pytest.raises(MailboxFull):
        handle.tell(CancelTurn(turn_id="turn-1"))
    assert handle.prompts_missed is False
