"""The consent table's states kept decoded (``agents.consent_table.FaustStates``): a state read
or written is not decoded again while the table holds the same bytes, and whatever else puts
other bytes there (a restore, a revocation, another worker's changelog) is read from them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from agents import consent_table
from agents.consent_table import FaustStates
from policy.state import EMPTY, Consent, SubjectState
from tests.unit.agents.pipeline_fakes import FakeTable

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEY = b"C-1"


def granted(scope: str) -> SubjectState:
    return SubjectState(consents=MappingProxyType({scope: Consent(True, T, "e-" + scope)}))


def restored(table: FakeTable, state: SubjectState) -> None:
    """The key's bytes replaced as a changelog restore writes them (a new bytes object)."""
    table.data[KEY] = state.to_json().encode()


def revoked(table: FakeTable) -> None:
    """The key gone from the table (its partition revoked), then nothing restored."""
    table.data.pop(KEY, None)


# (what happens to the table after the worker wrote "marketing", the state read next)
AFTER_WRITE = {
    "nothing": (None, granted("marketing")),
    "restored-other": (lambda t: restored(t, granted("research")), granted("research")),
    "revoked": (revoked, EMPTY),
}


@pytest.mark.parametrize(("change", "expected"), list(AFTER_WRITE.values()), ids=list(AFTER_WRITE))
def test_when_the_table_changes_under_a_kept_state_then_the_table_wins(
    change: Callable[[FakeTable], None] | None, expected: SubjectState
) -> None:
    table = FakeTable()
    states = FaustStates(table)
    states.put(0, KEY.decode(), granted("marketing"))
    if change is not None:
        change(table)
    assert states.get(0, KEY.decode()) == expected


def test_when_a_state_is_read_twice_then_it_is_decoded_once() -> None:
    table = FakeTable()
    restored(table, granted("marketing"))
    states = FaustStates(table)
    first = states.get(0, KEY.decode())
    assert states.get(0, KEY.decode()) is first


def test_when_a_subject_is_forgotten_then_it_reads_empty() -> None:
    states = FaustStates(FakeTable())
    states.put(0, KEY.decode(), granted("marketing"))
    states.put(0, KEY.decode(), None)
    assert states.get(0, KEY.decode()) is EMPTY


def test_when_more_subjects_than_kept_are_read_then_each_still_reads_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(consent_table, "DECODED_SIZE", 2)
    table = FakeTable()
    states = FaustStates(table)
    scopes = {f"C-{n}": f"scope-{n}" for n in range(5)}
    for customer, scope in scopes.items():
        states.put(0, customer, granted(scope))
    assert {c: states.get(0, c) for c in scopes} == {c: granted(s) for c, s in scopes.items()}
