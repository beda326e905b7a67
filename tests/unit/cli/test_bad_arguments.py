"""Every command, every bad argument: one line on stderr that names the problem, exit 2, no
traceback, nothing on stdout. The table crosses every command with every kind of bad argument
it can get: a missing file, a directory, an unreadable file, an empty file, the wrong kind of
file, a bad number (and the same files named by settings, for the commands that read them)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli.main import COMMANDS, build_parser, main
from tests.unit.cli import newcomer_rows
from tests.unit.cli.bad_argument_rows import GOLDEN, NOBODY
from tests.unit.cli.bad_argument_rows import ROWS as MAIN_ROWS

#: Every block of rows (issue 27's apart).
ROWS = {**MAIN_ROWS, **newcomer_rows.ROWS}


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory anyone may pass through (pytest's own are owner-only), so that an
    unreadable file in it is refused for its own mode, not for its parent's."""
    path = Path(tempfile.mkdtemp(prefix="purposegate-args-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def files(tmp_path: Path, open_dir: Path) -> dict[str, str]:
    """One path of each kind, by placeholder name."""
    input_lines = (GOLDEN / "input.jsonl").read_text(encoding="utf-8").splitlines(True)[:5]
    audit = (GOLDEN / "expected" / "purposegate.audit.jsonl").read_text(encoding="utf-8")
    made = {
        "input": "".join(input_lines),
        "audit": audit,
        "audit_then_input": "".join(audit.splitlines(True)[:2] + input_lines),
        "empty": "",
        "blank": "\n  \n\n",
        "binary": "\x00\x01binary\x00",
        "yaml_list": "- one\n- two\n",
        "yaml_mapping": "purposes: []\n",
        "unreadable": "".join(input_lines),
        **newcomer_rows.FILES,
    }
    paths = {
        "keys": str(GOLDEN / "keys.json"),
        "out": str(tmp_path / "out"),
        "cases": str(GOLDEN.parents[1] / "policy" / "cases.yaml"),
        "policy": str(Path(__file__).resolve().parents[3] / "policy" / "policy.yaml"),
    }
    for name, text in made.items():
        path = (open_dir if name == "unreadable" else tmp_path) / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    (open_dir / "unreadable.jsonl").chmod(0)
    (open_dir / "unreadable-dir").mkdir(mode=0)
    paths["unreadable_dir"] = str(open_dir / "unreadable-dir")
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("the user's own notes\n")
    paths |= {
        "missing": str(tmp_path / "missing.jsonl"),
        "dir": str(tmp_path / "a-dir"),
        "foreign_dir": str(tmp_path / "foreign"),
        "under_file": str(tmp_path / "input.jsonl" / "new.jsonl"),
    }
    return paths


@contextmanager
def unprivileged(needed: bool) -> Iterator[None]:
    """Root reads a chmod-000 file anyway: for an 'unreadable' row, act as nobody (effective
    uid only, so that the test process can come back)."""
    if not needed or os.geteuid() != 0:
        yield
        return
    build_parser()  # import every command module while the files are still readable
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.mark.parametrize(("argv", "env", "says"), ROWS.values(), ids=ROWS.keys())
def test_when_an_argument_is_bad_then_one_line_on_stderr_and_exit_two(
    argv: list[str],
    env: dict[str, str],
    says: str,
    files: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("PURPOSEGATE_POLICY", "PURPOSEGATE_PSEUDONYM_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**files))
    args = [a.format(**files) for a in argv]
    with unprivileged("unreadable" in str(argv) + str(env)):
        code = main(args)
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1, err
    assert says.format(**files).lower() in err.lower()
    assert "Traceback" not in err


def test_when_the_table_is_read_then_every_command_has_rows() -> None:
    covered = {argv[0] for argv, _, _ in ROWS.values() if argv}
    assert set(COMMANDS) - covered == set()


def test_when_a_dry_run_is_refused_then_the_users_files_are_untouched(
    files: dict[str, str],
) -> None:
    foreign = Path(files["foreign_dir"])
    shutil.copy(GOLDEN / "expected" / "purposegate.audit.jsonl", foreign)
    before = {p.name: p.read_bytes() for p in foreign.iterdir()}
    assert main(["dry-run", "--input", files["input"], "--out", str(foreign)]) == 2
    assert {p.name: p.read_bytes() for p in foreign.iterdir()} == before
