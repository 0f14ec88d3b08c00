"""The prompts of one thread that wait for their turn, and the cards that show them (pure).

A prompt enters once (from the store when the thread's actor starts, or handed over by the chat after it
queued it) and then is in exactly one place: waiting (in update order), being started as a turn, being
steered into the running turn, or gone (started, steered, dropped). ``seen`` remembers every prompt that ever
entered, so a prompt handed over twice (the store read at start and the chat's hand-over race) is taken once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from codexgram.chat import chat_views
from codexgram.chat.thread_effects import EditCard, Effect, Prompt, ShowCard


class PromptQueue:
    def __init__(self) -> None:
        self.waiting: list[Prompt] = []
        self.starting: Prompt | None = None  # turn/start sent, no answer yet
        self.steering: dict[int, Prompt] = {}  # turn/steer sent, no answer yet
        self._seen: set[int] = set()
        # Cards still being sent when their prompt left the queue: the edit to make once their id is known.
        self._late_edits: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"<PromptQueue waiting={len(self.waiting)} starting={self.starting is not None}>"

    @property
    def empty(self) -> bool:
        """Nothing waits and nothing is in flight."""
        return not self.waiting and self.starting is None and not self.steering

    @property
    def uncertain(self) -> list[Prompt]:
        """Waiting prompts that may have reached Codex already (``turn/start`` sent before a crash)."""
        return [p for p in self.waiting if p.starting]

    def add(self, prompts: Iterable[Prompt]) -> bool:
        """Take the prompts not seen before; True if there were any."""
        fresh = [p for p in prompts if p.update_id not in self._seen]
        self._seen.update(p.update_id for p in fresh)
        if fresh:
            self.waiting = sorted([*self.waiting, *fresh], key=lambda p: p.update_id)
        return bool(fresh)

    def find(self, update_id: int) -> Prompt | None:
        return next((p for p in self.waiting if p.update_id == update_id), None)

    def remove(self, prompt: Prompt) -> None:
        self.waiting.remove(prompt)

    def put_back(self, prompt: Prompt, *, uncertain: bool = False) -> None:
        """Wait again, in update order (a refused steer, a start that did not happen or may have)."""
        self.waiting = sorted(
            [*self.waiting, attrs.evolve(prompt, starting=uncertain)], key=lambda p: p.update_id
        )

    def take_all(self) -> list[Prompt]:
        waiting, self.waiting = self.waiting, []
        return waiting

    def start_next(self) -> Prompt:
        """The oldest waiting prompt becomes the one being started."""
        prompt = self.waiting.pop(0)
        self.starting = prompt
        return prompt

    def started(self, update_id: int) -> Prompt | None:
        """The answer to ``turn/start`` for ``update_id`` arrived: the prompt it was, if it is the one."""
        prompt = self.starting
        if prompt is None or prompt.update_id != update_id:
            return None
        self.starting = None
        return prompt

    def steer(self, prompt: Prompt) -> None:
        self.waiting.remove(prompt)
        self.steering[prompt.update_id] = prompt

    def steered(self, update_id: int) -> Prompt | None:
        return self.steering.pop(update_id, None)

    def card_edit(self, prompt: Prompt, text: Callable[[str], str]) -> list[Effect]:
        """Edit ``prompt``'s queued card to ``text(prompt text)``: now if it is shown, else once it is."""
        if prompt.card_message_id is not None:
            return [EditCard(message_id=prompt.card_message_id, text=text(prompt.text))]
        if prompt.card_token is not None:
            self._late_edits[prompt.update_id] = text(prompt.text)
        return []

    def card_shown(self, update_id: int, message_id: int) -> list[Effect]:
        """The card of ``update_id`` was sent as ``message_id``: remember it, or, if its prompt left the queue
        meanwhile (started, steered, dropped), make the edit that says so."""
        for index, prompt in enumerate(self.waiting):
            if prompt.update_id == update_id:
                self.waiting[index] = attrs.evolve(prompt, card_message_id=message_id)
                return []
        late = self._late_edits.pop(update_id, None)
        return [] if late is None else [EditCard(message_id=message_id, text=late)]

    def cards_to_show(self, new_token: Callable[[], str]) -> list[Effect]:
        """A queued card (Steer now / Cancel) for each waiting prompt that has none yet."""
        effects: list[Effect] = []
        for index, prompt in enumerate(self.waiting):
            if prompt.card_token is None and not prompt.starting:
                token = new_token()
                self.waiting[index] = attrs.evolve(prompt, card_token=token)
                effects.append(
                    ShowCard(
                        update_id=prompt.update_id,
                        token=token,
                        message=chat_views.queued_card(prompt.text, token),
                    )
                )
        return effects
