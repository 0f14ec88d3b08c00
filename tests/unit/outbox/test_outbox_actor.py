"""The outbox actor against in-process stubs (no network, no SQLite), in virtual time."""

from __future__ import annotations

import functools
import itertools

import attrs
import pytest
import trio

from codexgram.actors.outbox import OutboxSettings, _Outbox, outbox_actor
from codexgram.actors.outbox_handle import OutboxHandle
from codexgram.actors.runtime import Reply, ask
from codexgram.errors import (
    ActorGone,
    TelegramBadRequest,
    TelegramCantParseEntities,
    TelegramForbidden,
    TelegramNetworkError,
    TelegramNotModified,
    TelegramQueryTooOld,
    TelegramRetryAfter,
    TelegramServerError,
)
from codexgram.messages import (
    AnswerCallback,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    OutboxRequest,
    SendChatAction,
    SendDocument,
    SendMessage,
    StoredRequest,
)
from codexgram.telegram import outbox_requests
from codexgram.telegram.outbox_queue import Pacing
from codexgram.telegram.types import InlineKeyboardButton, InlineKeyboardMarkup
from codexgram.testing.outbox_runner import running_outbox
from codexgram.testing.outbox_stubs import MemoryOutboxStore, RecordingBotApi

CHAT = 501
Mailbox = trio.MemorySendChannel[OutboxRequest]


async def send(mailbox: Mailbox, text: str, *, chat_id: int = CHAT, durable: bool = False) -> int:
    def make(reply: Reply[int]) -> SendMessage:
        return SendMessage(chat_id=chat_id, text=text, durable=durable, reply=reply)

    return await ask(mailbox, make, timeout=600)


async def edit(mailbox: Mailbox, message_id: int, text: str) -> None:
    def make(reply: Reply[None]) -> EditMessageText:
        return EditMessageText(chat_id=CHAT, message_id=message_id, text=text, reply=reply)

    await ask(mailbox, make, timeout=600)


async def test_send_returns_the_message_id_and_sends_are_paced_in_order(autojump_clock: object) -> None:
    api = RecordingBotApi()
    async with running_outbox(api) as mailbox:
        ids: list[int] = []
        async with trio.open_nursery() as nursery:
            for index in range(4):
                # sequential submission, concurrent waiting: the order is the mailbox order
                reply: Reply[int] = Reply()
                await mailbox.send(SendMessage(chat_id=CHAT, text=f"m{index}", reply=reply))

                async def wait(reply: Reply[int] = reply) -> None:
                    ids.append(await reply.wait())

                nursery.start_soon(wait)
    sends = api.calls_of("sendMessage")
    assert [call.params["text"] for call in sends] == ["m0", "m1", "m2", "m3"]
    assert all(later.at - earlier.at >= 1.0 for earlier, later in itertools.pairwise(sends))
    assert sorted(ids) == [101, 102, 103, 104]


async def test_sends_to_different_chats_are_not_held_back(autojump_clock: object) -> None:
    api = RecordingBotApi()
    async with running_outbox(api) as mailbox:
        start = trio.current_time()
        for chat in range(1, 11):
            await send(mailbox, "hi", chat_id=chat)
        assert trio.current_time() - start < 0.01


async def test_a_429_pauses_the_chat_for_retry_after_and_loses_nothing(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("sendMessage", TelegramRetryAfter("sendMessage", "Too Many Requests: retry after 7", 7))
    async with running_outbox(api) as mailbox:
        assert await send(mailbox, "first") == 101
    first, retry = api.calls_of("sendMessage")
    assert retry.at - first.at == pytest.approx(7.0)
    assert retry.params["text"] == "first"


async def test_streamed_edits_are_coalesced_to_about_one_a_second(autojump_clock: object) -> None:
    api = RecordingBotApi()
    async with running_outbox(api) as mailbox:
        message_id = await send(mailbox, "working")
        for step in range(500):  # 50 per second for 10 s
            await mailbox.send(EditMessageText(chat_id=CHAT, message_id=message_id, text=f"step {step}"))
            await trio.sleep(0.02)
        await edit(mailbox, message_id, "done")
    edits = api.calls_of("editMessageText")
    assert 9 <= len(edits) <= 12
    assert edits[-1].params["text"] == "done"
    assert all(later.at - earlier.at >= 1.0 for earlier, later in itertools.pairwise(edits))


async def test_not_modified_counts_as_success(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("editMessageText", TelegramNotModified("editMessageText", "message is not modified", 400))
    async with running_outbox(api) as mailbox:
        await edit(mailbox, 5, "same")
    assert len(api.calls_of("editMessageText")) == 1


async def test_cant_parse_entities_resends_the_same_content_as_plain_text(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("sendMessage", TelegramCantParseEntities("sendMessage", "can't parse entities: ...", 400))
    async with running_outbox(api) as mailbox:
        await send(mailbox, "<b>bold &amp; <i>broken</b>")
    first, second = api.calls_of("sendMessage")
    assert first.params["parse_mode"] == "HTML"
    assert second.params == {"text": "bold & broken", "parse_mode": None, "reply_markup": None}


async def test_server_errors_retry_with_backoff_then_succeed(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("sendMessage", TelegramServerError("sendMessage", "Internal Server Error", 500), count=2)
    api.fail_next("sendMessage", TelegramNetworkError("sendMessage", "connection dropped"))
    async with running_outbox(api, pacing=Pacing(backoff_base=0.5)) as mailbox:
        assert await send(mailbox, "x") == 101
    times = [call.at for call in api.calls_of("sendMessage")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # the chat pace (1 s) dominates the first backoffs (0.5, 1.0), then the backoff (2.0) shows
    assert gaps == pytest.approx([1.0, 1.0, 2.0])


async def test_non_durable_requests_give_up_after_max_attempts(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next(None, TelegramServerError("sendMessage", "Bad Gateway", 502), count=10)
    async with running_outbox(api, max_attempts=3) as mailbox:
        with pytest.raises(TelegramServerError):
            await send(mailbox, "x")
    assert len(api.calls_of("sendMessage")) == 3


async def test_permanent_errors_fail_the_reply_and_the_chat_goes_on(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("sendMessage", TelegramBadRequest("sendMessage", "Bad Request: chat not found", 400))
    api.fail_next(
        "sendMessage", TelegramForbidden("sendMessage", "Forbidden: bot was blocked by the user", 403)
    )
    async with running_outbox(api) as mailbox:
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await send(mailbox, "a")
        with pytest.raises(TelegramForbidden):
            await send(mailbox, "b")
        assert await send(mailbox, "c") == 101


async def test_callback_answers_jump_the_queue_and_too_old_is_done(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("answerCallbackQuery", TelegramQueryTooOld("answerCallbackQuery", "query is too old", 400))
    async with running_outbox(api) as mailbox:
        for index in range(3):
            await mailbox.send(SendMessage(chat_id=CHAT, text=f"m{index}"))
        await trio.sleep(0.1)
        started = trio.current_time()

        def make(reply: Reply[None]) -> AnswerCallback:
            return AnswerCallback(callback_query_id="q1", reply=reply)

        await ask(mailbox, make, timeout=60)
        assert trio.current_time() - started < 0.01


async def test_a_backlog_in_the_mailbox_is_taken_in_one_pass() -> None:
    """Many streaming chats fill the mailbox faster than one message per scheduler pass: the actor takes all
    that waits at once, so a button's answer does not queue behind hundreds of progress edits."""
    api = RecordingBotApi()
    async with running_outbox(api) as mailbox:
        for chat_id in range(1, 201):
            mailbox.send_nowait(EditMessageText(chat_id=chat_id, message_id=1, text="progress"))
        mailbox.send_nowait(AnswerCallback(callback_query_id="q1"))
        for _ in range(10):  # a few scheduler passes; one message a pass would take over 200
            await trio.lowlevel.checkpoint()
        assert [call.params["callback_query_id"] for call in api.calls_of("answerCallbackQuery")] == ["q1"]


async def test_delete_drops_pending_edits_of_that_message(autojump_clock: object) -> None:
    api = RecordingBotApi()
    async with running_outbox(api) as mailbox:
        message_id = await send(mailbox, "progress")
        edit_reply: Reply[None] = Reply()
        await mailbox.send(EditMessageText(chat_id=CHAT, message_id=message_id, text="x", reply=edit_reply))
        await mailbox.send(EditMessageMarkup(chat_id=CHAT, message_id=message_id))

        def make(reply: Reply[None]) -> DeleteMessage:
            return DeleteMessage(chat_id=CHAT, message_id=message_id, reply=reply)

        await ask(mailbox, make, timeout=60)
        with trio.fail_after(60):
            await edit_reply.wait()  # answered (None): the message it would edit is gone
    assert [call.method for call in api.calls] == ["sendMessage", "deleteMessage"]


async def test_chat_actions_are_best_effort(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.fail_next("sendChatAction", TelegramServerError("sendChatAction", "oops", 500))
    async with running_outbox(api) as mailbox:
        await mailbox.send(SendChatAction(chat_id=CHAT))
        await trio.sleep(5)
        await mailbox.send(SendChatAction(chat_id=CHAT))
        await trio.sleep(5)
    assert len(api.calls_of("sendChatAction")) == 2


async def test_durable_sends_are_stored_first_and_removed_after_success(autojump_clock: object) -> None:
    api = RecordingBotApi()
    store = MemoryOutboxStore()
    async with running_outbox(api, store) as mailbox:
        await send(mailbox, "final answer", durable=True)
        await send(mailbox, "not durable")
    assert store.added == [1]
    assert store.removed == [1]
    assert store.rows == {}


async def test_a_stored_request_is_sent_from_its_own_row_and_the_row_removed(autojump_clock: object) -> None:
    """The sender wrote the row in its own transaction: the outbox must not write another one."""
    api = RecordingBotApi()
    store = MemoryOutboxStore()
    request = SendMessage(chat_id=CHAT, text="final answer", durable=True)
    kind, payload = outbox_requests.to_record(request)
    async with running_outbox(api, store) as mailbox:
        row_id = await store.outbox_add(chat_id=CHAT, kind=kind, payload=payload)
        store.added.clear()

        def make(reply: Reply[int]) -> StoredRequest:
            return StoredRequest(row_id=row_id, request=attrs.evolve(request, reply=reply))

        assert await ask(mailbox, make, timeout=60) == 101
        # A stored delete drops the pending edits of its message, like a plain one.
        await mailbox.send(EditMessageText(chat_id=CHAT, message_id=101, text="stale"))
        kind, payload = outbox_requests.to_record(DeleteMessage(chat_id=CHAT, message_id=101, durable=True))
        delete_row = await store.outbox_add(chat_id=CHAT, kind=kind, payload=payload)
        store.added.clear()
        deleted: Reply[None] = Reply()
        await mailbox.send(
            StoredRequest(
                row_id=delete_row,
                request=DeleteMessage(chat_id=CHAT, message_id=101, durable=True, reply=deleted),
            )
        )
        await deleted.wait()
    assert [call.method for call in api.calls] == ["sendMessage", "deleteMessage"]
    assert store.added == []
    assert store.removed == [row_id, delete_row]
    assert store.rows == {}


async def test_durable_rows_left_by_an_earlier_process_are_delivered_first(autojump_clock: object) -> None:
    store = MemoryOutboxStore()
    markup = InlineKeyboardMarkup(
        inline_keyboard=((InlineKeyboardButton(text="Approve", callback_data="a:x:y"),),)
    )
    for request in (
        SendMessage(chat_id=CHAT, text="left over", reply_markup=markup, durable=True),
        SendDocument(chat_id=CHAT, filename="answer.md", data=b"\x00\xffbytes", durable=True),
    ):
        kind, payload = outbox_requests.to_record(request)
        await store.outbox_add(chat_id=CHAT, kind=kind, payload=payload)
    await store.outbox_add(chat_id=CHAT, kind="from_the_future", payload="{}")
    api = RecordingBotApi()
    async with running_outbox(api, store) as mailbox:
        await send(mailbox, "new")
    assert [call.method for call in api.calls] == ["sendMessage", "sendDocument", "sendMessage"]
    assert api.calls[0].params["reply_markup"] == markup
    assert api.calls[1].params["data"] == b"\x00\xffbytes"
    assert list(store.rows) == [3]  # the unreadable row is left for a newer codexgram


async def test_durable_requests_keep_retrying_past_max_attempts(autojump_clock: object) -> None:
    api = RecordingBotApi()
    store = MemoryOutboxStore()
    api.fail_next(None, TelegramNetworkError("sendMessage", "down"), count=8)
    async with running_outbox(api, store, max_attempts=2) as mailbox:
        assert await send(mailbox, "important", durable=True) == 101
    assert len(api.calls_of("sendMessage")) == 9
    assert store.rows == {}


async def test_stopping_fails_the_replies_of_unsent_requests(autojump_clock: object) -> None:
    api = RecordingBotApi()
    reply: Reply[int] = Reply()
    async with running_outbox(api) as mailbox:
        await mailbox.send(SendMessage(chat_id=CHAT, text="a"))
        await mailbox.send(SendMessage(chat_id=CHAT, text="b", reply=reply))
        await trio.sleep(0.5)
    with pytest.raises(ActorGone), trio.fail_after(60):
        await reply.wait()


async def test_the_actor_ends_when_its_mailbox_ends_after_delivering_everything(
    autojump_clock: object,
) -> None:
    api = RecordingBotApi()
    async with trio.open_nursery() as nursery:
        mailbox: Mailbox = await nursery.start(functools.partial(outbox_actor, client=api, store=None))
        async with mailbox:
            for index in range(3):
                await mailbox.send(SendMessage(chat_id=CHAT, text=f"m{index}"))
    assert len(api.calls_of("sendMessage")) == 3


async def test_a_call_that_never_answers_is_abandoned_and_retried(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.latency = 10_000.0  # the stub ignores the client's own timeout, like a broken transport would
    async with running_outbox(api, call_timeout=5.0, max_attempts=2) as mailbox:
        with pytest.raises(TelegramNetworkError, match="deadline"):
            await send(mailbox, "x")
    first, second = api.calls_of("sendMessage")
    assert second.at - first.at == pytest.approx(5.0 * 3 + 60 + 0.5)


async def test_calls_in_flight_are_bounded_and_the_dispatcher_does_not_spin(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.latency = 2.0
    outbox = _Outbox(api, None, OutboxSettings(max_in_flight=3))
    async with trio.open_nursery() as nursery:
        receive_side: trio.MemoryReceiveChannel[OutboxRequest]
        send_side, receive_side = trio.open_memory_channel[OutboxRequest](100)
        nursery.start_soon(outbox.receive, receive_side, nursery)
        nursery.start_soon(outbox.dispatch, nursery)
        async with send_side:
            for chat in range(1, 13):
                await send_side.send(SendMessage(chat_id=chat, text="x"))
    starts = sorted(call.at for call in api.calls)
    assert len(starts) == 12
    # 12 calls of 2 s each, 3 at a time: four waves 2 s apart
    assert starts == pytest.approx([0.0] * 3 + [2.0] * 3 + [4.0] * 3 + [6.0] * 3, abs=0.01)
    assert outbox.dispatch_rounds < 40


async def test_the_handle_wraps_every_request(autojump_clock: object) -> None:
    api = RecordingBotApi()
    async with running_outbox(api) as mailbox:
        outbox = OutboxHandle(mailbox)
        message_id = await outbox.send_text(CHAT, "<b>hi</b>", durable=False)
        await outbox.edit_text(CHAT, message_id, "<b>hello</b>")
        await outbox.edit_markup(CHAT, message_id, None)
        outbox.answer_callback("q", text="ok")
        outbox.chat_action(CHAT)
        document_id = await outbox.send_document(CHAT, "a.txt", b"data")
        await outbox.delete(CHAT, document_id)
        await trio.sleep(1)
    methods = [call.method for call in api.calls]
    # the callback answer and the chat action start together; trio runs new tasks in no fixed order
    assert sorted(methods[3:5]) == ["answerCallbackQuery", "sendChatAction"]
    assert methods[:3] + methods[5:] == [
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "deleteMessage",
    ]


async def test_the_handle_reports_a_stopped_outbox() -> None:
    send_side, receive_side = trio.open_memory_channel[OutboxRequest](1)
    receive_side.close()
    outbox = OutboxHandle(send_side)
    with pytest.raises(ActorGone):
        await outbox.send_text(CHAT, "x")
    with pytest.raises(ActorGone):
        outbox.answer_callback("q")
    outbox.chat_action(CHAT)  # best effort: never raises


class SlowStore(MemoryOutboxStore):
    """Writing a row takes 5 s (a disk under load, or the admin CLI holding the write lock)."""

    async def outbox_add(
        self, *, chat_id: int, kind: str, payload: str, created_at: float | None = None
    ) -> int:
        await trio.sleep(5)
        return await super().outbox_add(chat_id=chat_id, kind=kind, payload=payload, created_at=created_at)


async def test_a_slow_durable_write_delays_only_its_own_chat(autojump_clock: object) -> None:
    api = RecordingBotApi()
    store = SlowStore()
    async with running_outbox(api, store) as mailbox:
        await mailbox.send(SendMessage(chat_id=CHAT, text="durable", durable=True))
        await mailbox.send(SendMessage(chat_id=CHAT, text="after it"))
        await mailbox.send(SendMessage(chat_id=CHAT + 1, text="other chat"))
        await mailbox.send(AnswerCallback(callback_query_id="q"))
        await trio.sleep(10)
    at = {str(call.params.get("text") or call.method): call.at for call in api.calls}
    assert at["answerCallbackQuery"] < 0.01
    assert at["other chat"] < 0.01
    assert at["durable"] == pytest.approx(5.0)
    assert at["after it"] == pytest.approx(6.0)
    assert store.removed == [1]


async def test_a_durable_edit_dropped_by_a_delete_while_its_row_is_written_leaves_no_row(
    autojump_clock: object,
) -> None:
    api = RecordingBotApi()
    store = SlowStore()
    async with running_outbox(api, store) as mailbox:
        await mailbox.send(EditMessageText(chat_id=CHAT, message_id=9, text="x", durable=True))
        await mailbox.send(DeleteMessage(chat_id=CHAT, message_id=9))
        await trio.sleep(10)
    assert [call.method for call in api.calls] == ["deleteMessage"]
    assert store.rows == {}


async def test_a_full_queue_stops_reading_the_mailbox(autojump_clock: object) -> None:
    api = RecordingBotApi()
    api.latency = 1.0
    outbox = _Outbox(api, None, OutboxSettings(max_pending=3, max_in_flight=1))
    send_side, receive_side = trio.open_memory_channel[OutboxRequest](2)
    most_pending = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.receive, receive_side, nursery)
        nursery.start_soon(outbox.dispatch, nursery)
        async with send_side:
            for index in range(12):
                await send_side.send(SendMessage(chat_id=CHAT, text=f"m{index}"))
                most_pending = max(most_pending, outbox._queue.pending_count)
            # the sender was held back: 12 sends into a mailbox of 2 took the time of several calls
            assert trio.current_time() >= 5.0
    assert most_pending <= 3
    assert [call.params["text"] for call in api.calls] == [f"m{index}" for index in range(12)]
