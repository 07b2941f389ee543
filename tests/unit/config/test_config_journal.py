"""The optional `journal` section: defaults, the shipped values, and errors naming file, key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config import ConfigError, load_settings
from config.settings import JOURNAL_FSYNC_POLICIES, JournalSettings, Settings

MINIMAL = {
    "instruments": [{"symbol": "AAPL", "tick_size": "0.01", "lot_size": 1, "currency": "USD",
                     "reference_price": "190.00", "price_band_tier": 1}],
    "firms": {"FIRM_A": {"sessions": {"BROKER1": {}}}},
}


def _load(tmp_path: Path, journal: object = None, *, include: bool = True) -> Settings:
    document = dict(MINIMAL)
    if include:
        document["journal"] = journal
    path = tmp_path / "exchange.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return load_settings(path)


def _error(tmp_path: Path, journal: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, journal)
    assert caught.value.file == str(tmp_path / "exchange.yaml")
    return caught.value


def test_a_missing_journal_section_means_all_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, include=False).journal == JournalSettings("var/journal", "group", 5)


def test_an_empty_journal_section_means_all_defaults(tmp_path: Path) -> None:
    assert _load(tmp_path, None).journal == JournalSettings()


def test_settings_built_in_code_get_the_default_journal() -> None:
    assert Settings().journal == JournalSettings(path="var/journal", fsync="group", group_commit_ms=5)


def test_the_shipped_file_documents_the_defaults() -> None:
    assert load_settings().journal == JournalSettings()


@pytest.mark.parametrize("policy", JOURNAL_FSYNC_POLICIES)
def test_every_fsync_policy_is_accepted(tmp_path: Path, policy: str) -> None:
    journal = _load(tmp_path, {"path": "/data/journal", "fsync": policy, "group_commit_ms": 1000}).journal
    assert (journal.path, journal.fsync, journal.group_commit_ms) == ("/data/journal", policy, 1000)


def test_an_unknown_fsync_policy_names_file_key_and_allowed_values(tmp_path: Path) -> None:
    error = _error(tmp_path, {"fsync": "sometimes"})
    assert str(error) == (f"{tmp_path / 'exchange.yaml'}: journal.fsync: 'sometimes' is not allowed; "
                          "allowed values: always, group, os")


@pytest.mark.parametrize("value", [0, 1001, "5", True])
def test_group_commit_ms_outside_1_to_1000_is_refused(tmp_path: Path, value: object) -> None:
    error = _error(tmp_path, {"group_commit_ms": value})
    assert error.key == "journal.group_commit_ms"
    assert "must be an integer from 1 to 1000" in error.message


@pytest.mark.parametrize(("value", "fragment"), [("", "must not be empty"), (5, "must be text")])
def test_a_bad_journal_path_is_refused(tmp_path: Path, value: object, fragment: str) -> None:
    error = _error(tmp_path, {"path": value})
    assert error.key == "journal.path"
    assert fragment in error.message


def test_an_unknown_journal_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    error = _error(tmp_path, {"fsynk": "always"})
    assert (error.key, error.message) == ("journal.fsynk", "unknown key; allowed keys: fsync, group_commit_ms, path")


def test_a_journal_section_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    error = _error(tmp_path, "var/journal")
    assert error.key == "journal"
    assert "must be a mapping; allowed keys: fsync, group_commit_ms, path" in error.message
