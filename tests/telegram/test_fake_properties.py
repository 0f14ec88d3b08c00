"""Property tests for the fake's pure parts: flood control and multipart parsing."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from codexgram.testing.fake_telegram.flood import FloodControl, Rate
from codexgram.testing.fake_telegram.spec import UploadedFile
from codexgram.testing.fake_telegram.wire import parse_multipart

RATE = Rate(burst=3, per_second=1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=0.7, allow_nan=False), min_size=1, max_size=80))
def test_a_chat_never_gets_more_than_its_rate(gaps: list[float]) -> None:
    flood = FloodControl(private_rate=RATE, global_rate=Rate(burst=1000, per_second=1000))
    now = 0.0
    admitted: list[float] = []
    for gap in gaps:
        now += gap
        if flood.admit(1, is_group=False, now=now) is None:
            admitted.append(now)
    # In any window [t, t + w], at most burst + w * rate messages got through.
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - start
            assert j - i + 1 <= RATE.burst + window * RATE.per_second + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=0.5, allow_nan=False), min_size=1, max_size=40))
def test_waiting_retry_after_always_works(gaps: list[float]) -> None:
    flood = FloodControl(private_rate=RATE)
    now = 0.0
    for gap in gaps:
        now += gap
        retry_after = flood.admit(1, is_group=False, now=now)
        if retry_after is not None:
            assert isinstance(retry_after, int)
            assert retry_after >= 1
            now += retry_after
            assert flood.admit(1, is_group=False, now=now) is None


field_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
field_values = st.text(st.characters(blacklist_categories=["Cs"]), max_size=200)


@settings(max_examples=100, deadline=None)
@given(
    fields=st.dictionaries(field_names, field_values, max_size=5),
    content=st.binary(max_size=2000),
    filename=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=20),
)
def test_multipart_bodies_from_httpx_parse_back(
    fields: dict[str, str], content: bytes, filename: str
) -> None:
    fields.pop("document", None)
    request = httpx.Request(
        "POST", "http://x/", data=fields, files={"document": (filename, content, "application/octet-stream")}
    )
    parsed = parse_multipart(request.headers["content-type"], request.read())
    document = parsed.pop("document")
    assert document == UploadedFile(filename=filename, content_type="application/octet-stream", data=content)
    assert parsed == fields
