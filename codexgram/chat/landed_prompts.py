"""Did a prompt whose ``turn/start`` may have reached Codex land? (pure)

After a crash, a timeout or a dropped connection, a prompt marked ``starting`` may or may not be in Codex.
``thread/read`` says: a prompt is found by our ``clientUserMessageId`` in the user message of a turn. Found,
it is recorded as that turn (the thread core then delivers or adopts it); found in a turn already known, it
was steered into it; not found, it waits to be sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import attrs

from codexgram.chat.thread_effects import Effect, MarkHandled, Prompt, RecordTurn, Requeue
from codexgram.chat.turn_delivery import turn_with_client_id
from codexgram.chat.watched_turn import UnfinishedTurn
from codexgram.codex.requests import Turn


@attrs.frozen(kw_only=True)
class Settled:
    effects: tuple[Effect, ...]
    not_landed: tuple[Prompt, ...]  # to send again
    landed: tuple[UnfinishedTurn, ...]  # recorded as their turns, to deliver or adopt


def settle_uncertain(
    prompts: Sequence[Prompt],
    turns: Sequence[Turn],
    *,
    known_turn_ids: Collection[str],
    new_token: Callable[[], str],
    now: float,
) -> Settled:
    effects: list[Effect] = []
    not_landed: list[Prompt] = []
    landed_turns: list[UnfinishedTurn] = []
    for prompt in prompts:
        landed = turn_with_client_id(turns, prompt.client_id)
        if landed is None:
            not_landed.append(prompt)
            effects.append(Requeue(update_id=prompt.update_id))
        elif landed.id in known_turn_ids:
            effects.append(MarkHandled(update_id=prompt.update_id, outcome=f"steered into {landed.id}"))
        else:
            token = new_token()
            effects.append(
                RecordTurn(
                    turn_id=landed.id, cancel_token=token, update_id=prompt.update_id, user_id=prompt.user_id
                )
            )
            landed_turns.append(
                UnfinishedTurn(
                    turn_id=landed.id,
                    update_id=prompt.update_id,
                    user_id=prompt.user_id,
                    cancel_token=token,
                    progress_message_id=None,
                    sent_items=(),
                    started_at=float(landed.started_at) if landed.started_at else now,
                )
            )
    return Settled(effects=tuple(effects), not_landed=tuple(not_landed), landed=tuple(landed_turns))
