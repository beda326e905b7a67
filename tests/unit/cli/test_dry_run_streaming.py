"""Issue 27, items 1 and 5: ``dry-run`` and ``diff-policy`` read their input once, sort it with
bounded memory (runs spilled to disk, merged) and decide exactly what the in-memory sort did; a
byte order mark loses no line; ``--input -`` reads standard input."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import pytest

from cli.main import main
from wire import external_sort
from wire.external_sort import external_sorted

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
EXPECTED = GOLDEN / "expected"
KEYS = GOLDEN / "keys.json"


def dry_run(source: Path | str, out: Path) -> dict[str, list[str]]:
    argv = ["dry-run", "--input", str(source), "--out", str(out), "--keys", str(KEYS)]
    assert main(argv) == 0
    return {f.name: f.read_text().splitlines() for f in sorted(out.glob("*.jsonl"))}


def expected() -> dict[str, list[str]]:
    return {f.name: f.read_text().splitlines() for f in sorted(EXPECTED.glob("*.jsonl"))}


@pytest.mark.parametrize(
    ("items", "run_size", "fan_in"),
    [
        # shorter than a run: sorted in memory
        ([3, 1, 2], 10, 64),
        # one item a run: every item spilled, then merged
        ([5, 4, 3, 2, 1, 0], 1, 64),
        # runs of unequal length, duplicates kept in input order (stable)
        ([(2, "a"), (1, "b"), (2, "c"), (1, "d"), (2, "e")], 2, 64),
        # more runs than are merged at once: groups merged first, over several generations,
        # duplicates still in input order
        ([(i % 3, i) for i in range(40, 0, -1)], 1, 2),
        # nothing at all
        ([], 3, 64),
    ],
)
def test_when_items_are_sorted_externally_then_the_result_is_sorted(
    items: list[object], run_size: int, fan_in: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external_sort, "FAN_IN", fan_in)

    def key(item: object) -> object:
        return item[0] if isinstance(item, tuple) else item

    assert list(external_sorted(items, key=key, run_size=run_size)) == sorted(items, key=key)


@pytest.mark.parametrize(
    ("run_size", "fan_in"),
    [
        # every run a few events: the golden stream is merged from dozens of spilled runs
        (7, 64),
        # and those runs merged three at a time, over several generations of longer runs
        (7, 3),
        # one run: the in-memory path
        (1_000_000, 64),
    ],
)
def test_when_runs_are_spilled_then_the_golden_dry_run_is_byte_identical(
    run_size: int, fan_in: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external_sort, "RUN_SIZE", run_size)
    monkeypatch.setattr(external_sort, "FAN_IN", fan_in)
    assert dry_run(GOLDEN / "input.jsonl", tmp_path / "out") == expected()


def test_when_a_shuffled_file_is_spilled_then_decisions_match_the_in_memory_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (GOLDEN / "input.jsonl").read_text().splitlines()
    random.Random(5).shuffle(lines)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(lines) + "\n")
    whole = dry_run(shuffled, tmp_path / "whole")
    monkeypatch.setattr(external_sort, "RUN_SIZE", 5)
    assert dry_run(shuffled, tmp_path / "spilled") == whole


def test_when_the_file_starts_with_a_byte_order_mark_then_no_line_is_lost(
    tmp_path: Path,
) -> None:
    source = tmp_path / "bom.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + (GOLDEN / "input.jsonl").read_bytes())
    assert dry_run(source, tmp_path / "out") == expected()


def test_when_input_is_dash_then_standard_input_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO((GOLDEN / "input.jsonl").read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert dry_run("-", tmp_path / "out") == expected()


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        # an empty pipe: nothing decided is no success
        (b"", "the input is empty"),
        # input lines of a topic that is no input
        (b'{"topic": "purchases", "value": {}}\n', "its lines name topic purchases"),
    ],
)
def test_when_stdin_holds_no_input_record_then_exit_two_naming_it(
    stdin: bytes,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["dry-run", "--input", "-", "--out", str(tmp_path / "o"), "--keys", str(KEYS)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert says in err and len(err.splitlines()) == 1


def test_when_diff_runs_spill_then_the_golden_diff_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = Path(__file__).resolve().parents[3] / "policy" / "policy.yaml"
    new = tmp_path / "new.yaml"
    new.write_text(policy.read_text().replace("      phone: keep\n", "", 1))
    monkeypatch.setattr(external_sort, "RUN_SIZE", 6)
    main(["diff-policy", str(policy), str(new), "--input", str(GOLDEN / "input.jsonl")])
    spilled = capsys.readouterr().out
    monkeypatch.setattr(external_sort, "RUN_SIZE", 1_000_000)
    main(["diff-policy", str(policy), str(new), "--input", str(GOLDEN / "input.jsonl")])
    assert spilled == capsys.readouterr().out
    assert "decided differently" in spilled
