"""Pseudonym keys: from a file or env JSON, never shown, one per recipient, fail closed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from config.settings import Settings
from policy.compile import compile_policy
from policy.errors import ConfigError
from policy.keys import PseudonymKeys, keys_from_file, load_keys, write_dev_key_file
from policy.loader import load_policy

KEY_A = "a" * 40
KEY_B = "b" * 40


def settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_when_keys_come_from_file_and_env_then_env_wins_per_recipient(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"enfinity": KEY_A, "septem-souken": KEY_A}))
    env = json.dumps({"enfinity": KEY_B})
    keys = load_keys(
        settings(
            PURPOSEGATE_PSEUDONYM_KEYS_FILE=str(path), PURPOSEGATE_PSEUDONYM_KEYS=SecretStr(env)
        )
    )
    from_b = PseudonymKeys({"x": KEY_B.encode()}).pseudonymiser("x")("cust-1")
    assert keys.pseudonymiser("enfinity")("cust-1") == from_b
    assert keys.pseudonymiser("septem-souken")("cust-1") != from_b


def test_when_keys_are_printed_then_no_key_material_shows(tmp_path: Path) -> None:
    keys = PseudonymKeys({"enfinity": KEY_A.encode()})
    shown = f"{keys} {keys!r} {keys.pseudonymiser('enfinity')!r}"
    assert "aaaa" not in shown
    assert "enfinity" in shown


BAD_KEYS = [
    # not JSON
    ("{not json", "not a JSON object"),
    # JSON but not an object
    ('["k"]', "not a JSON object"),
    # a key too short to be a secret
    ('{"enfinity": "short"}', "at least 32"),
]


@pytest.mark.parametrize(("text", "message"), BAD_KEYS)
def test_when_key_file_is_bad_then_config_error_without_the_text(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        keys_from_file(path)
    assert "short" not in str(caught.value)


RECIPIENTS = sorted(r.id for r in load_policy().recipients)


# one row per recipient of the shipped policy: every one needs a key now (its subject ids)
@pytest.mark.parametrize("missing", RECIPIENTS)
def test_when_a_recipient_has_no_key_then_start_up_fails_naming_it(missing: str) -> None:
    keys = PseudonymKeys({r: KEY_A.encode() for r in RECIPIENTS if r != missing})
    with pytest.raises(ConfigError, match=f"no key for recipient '{missing}'") as caught:
        compile_policy(load_policy(), keys)
    assert KEY_A not in str(caught.value)


def test_when_dev_key_file_is_written_then_it_is_private_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "keys.json"
    write_dev_key_file(path, ["enfinity", "septem-souken"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = keys_from_file(path)
    assert keys.recipients == {"enfinity", "septem-souken"}
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        write_dev_key_file(path, ["enfinity"])


def test_when_two_dev_key_files_are_written_then_their_keys_differ(tmp_path: Path) -> None:
    write_dev_key_file(tmp_path / "one.json", ["enfinity"])
    write_dev_key_file(tmp_path / "two.json", ["enfinity"])
    one = keys_from_file(tmp_path / "one.json").pseudonymiser("enfinity")("cust-1")
    two = keys_from_file(tmp_path / "two.json").pseudonymiser("enfinity")("cust-1")
    assert one != two
