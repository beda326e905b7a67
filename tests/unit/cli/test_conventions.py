"""Issue 27, item 6: conventions people already know. Every option of every command says what it
does; ``--version``; ``-b/--bootstrap`` before or after the command, over ``KAFKA_BOOTSTRAP``;
``topics`` lists without pseudonym keys; ``python -m wire.generate --help`` only prints."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli import main as main_module
from cli.main import build_parser, main
from wire import generate


def every_action() -> list[tuple[str, argparse.Action]]:
    parser = build_parser()
    found = [("purposegate", action) for action in parser._actions]
    for sub in parser._actions:
        if isinstance(sub, argparse._SubParsersAction):
            for name, command in sub.choices.items():
                found += [(name, action) for action in command._actions]
    return found


@pytest.mark.parametrize(
    ("command", "action"),
    [pytest.param(c, a, id=f"{c} {a.dest}") for c, a in every_action()],
)
def test_when_help_is_read_then_every_option_says_what_it_does(
    command: str, action: argparse.Action
) -> None:
    if isinstance(action, argparse._SubParsersAction):
        return  # the command list: each command's own help names it
    assert action.help and action.help != argparse.SUPPRESS, f"{command}: {action.dest}"


def test_when_version_is_asked_then_it_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("purposegate ")


@pytest.mark.parametrize(
    ("argv", "bootstrap"),
    [
        # kcat's place: before the command
        (["-b", "broker-1:9093", "topics"], "broker-1:9093"),
        # or after it, long form, several brokers
        (["topics", "--bootstrap", "b1:9092,b2:9092"], "b1:9092,b2:9092"),
        # none: KAFKA_BOOTSTRAP
        (["topics"], "from-env:9092"),
    ],
)
def test_when_bootstrap_is_given_then_it_overrides_the_environment(
    argv: list[str], bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "from-env:9092")
    seen: list[str] = []

    def fake_run(args: argparse.Namespace, settings: main_module.Settings) -> int:
        seen.append(settings.kafka_bootstrap)
        return 0

    monkeypatch.setattr("cli.topics.run", fake_run)
    assert main(argv) == 0
    assert seen == [bootstrap]


def test_when_topics_are_listed_then_no_key_file_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PURPOSEGATE_PSEUDONYM_KEYS_FILE", str(tmp_path / "no-such-keys.json"))
    assert main(["topics"]) == 0
    assert "shared.septem-cargo.fulfilment" in capsys.readouterr().out


def test_when_the_generator_is_asked_for_help_then_it_writes_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[object] = []
    monkeypatch.setattr(generate, "write", lambda *a: written.append(a) or [])
    with pytest.raises(SystemExit) as stopped:
        generate.main(["--help"])
    assert (stopped.value.code, written) == (0, [])
    assert "--check" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("events", "invalid"),
    [
        # some broken lines among the events: the file keeps --events lines, as the help says
        (40, 6),
        # more broken lines than events: every line broken, still --events lines
        (5, 9),
    ],
)
def test_when_sample_writes_broken_lines_then_they_are_among_the_events(
    events: int, invalid: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sample.jsonl"
    argv = ["sample", "--events", str(events), "--invalid", str(invalid), "--out", str(out)]
    assert main(argv) == 0
    assert len(out.read_text().splitlines()) == events
    assert f"{min(events, invalid)} of them broken" in capsys.readouterr().out
