"""The pure getUpdates ledger: offsets and duplicate filtering."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codexgram.telegram.updates import RESET_GAP, UpdateLedger


def ident(update_id: int) -> int:
    return update_id


def test_without_an_offset_everything_is_fresh_in_id_order() -> None:
    ledger = UpdateLedger(None)
    assert ledger.offset is None
    assert ledger.fresh([12, 10, 11], ident) == [10, 11, 12]


def test_ids_below_the_offset_and_repeats_are_dropped() -> None:
    ledger = UpdateLedger(10)
    assert ledger.fresh([8, 9, 10, 10, 11], ident) == [10, 11]


def test_handing_over_advances_the_offset() -> None:
    ledger = UpdateLedger(None)
    assert ledger.handed_over(41) == 42
    assert ledger.handed_over(43) == 44
    # an older id never moves the offset back
    assert ledger.handed_over(5) == 44
    assert ledger.offset == 44
    assert ledger.fresh([42, 43, 44], ident) == [44]


def test_a_restarted_id_sequence_is_not_mistaken_for_duplicates() -> None:
    ledger = UpdateLedger(5 * RESET_GAP)
    assert ledger.fresh([7, 8], ident) == [7, 8]
    assert ledger.offset is None
    assert ledger.handed_over(7) == 8


@given(st.lists(st.lists(st.integers(min_value=100, max_value=160), max_size=20), max_size=20))
def test_redelivered_batches_are_each_handed_over_once(batches: list[list[int]]) -> None:
    """Whatever overlapping batches arrive, every id is handed over at most once, in increasing order."""
    ledger = UpdateLedger(None)
    handed: list[int] = []
    for batch in batches:
        for update in ledger.fresh(batch, ident):
            handed.append(update)
            ledger.handed_over(update)
    assert handed == sorted(set(handed))
    # and a restart from the persisted offset drops all of them
    restarted = UpdateLedger(ledger.offset)
    assert restarted.fresh(handed, ident) == []
