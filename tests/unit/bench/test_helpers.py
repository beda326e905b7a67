"""The benchmark's own helpers (no broker): grouping the worker's records, seeding states."""

from __future__ import annotations

import os
import time

import pytest

from bench.cpu import CpuWindow
from bench.million import _subjects_in_table, memory_mib, states
from bench.outputs import CHANGELOG, InputId, _at_or_before, output_topics
from bench.table import met
from config.settings import Settings
from policy.state import SubjectState

TIMES: list[tuple[int, InputId]] = [(10, ("orders", 0, 1)), (20, ("consents", 0, 4))]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (15, ("orders", 0, 1)),  # between two audit records: the earlier one
        (20, ("consents", 0, 4)),  # at an audit record's own stamp: that one
        (99, ("consents", 0, 4)),  # after the last: the last
        (5, ("orders", 0, 1)),  # before the first: the first
    ],
)
def test_when_changelog_write_stamped_then_latest_audit_at_or_before(
    stamp: int, expected: InputId
) -> None:
    assert _at_or_before(TIMES, stamp) == expected


def test_when_output_topics_listed_then_inputs_and_policies_left_out_changelog_added() -> None:
    settings = Settings(PURPOSEGATE_TOPIC_PREFIX="b1-w1.", PURPOSEGATE_APP_ID="purposegate-b1-w1")
    existing = [
        "b1-w1.orders",  # an input: not the worker's output
        "b1-w1.purposegate.policies",  # one record per policy version, not per event
        "b1-w1.purposegate.audit",
        "b1-w1.shared.enfinity.product_development",
        "b2-w1.purposegate.audit",  # another run's prefix
    ]
    assert output_topics(settings, existing) == {
        "b1-w1.purposegate.audit": "purposegate.audit",
        "b1-w1.shared.enfinity.product_development": "shared.enfinity.product_development",
        "purposegate-b1-w1-consent-state-changelog": CHANGELOG,
    }


def test_when_states_seeded_then_each_customer_has_its_own_readable_state() -> None:
    seeded = list(states(3, ["shared.a", "shared.b"]))
    assert [key for key, _ in seeded] == [b"C000001", b"C000002", b"C000003"]
    parsed = [SubjectState.from_json(value) for _, value in seeded]
    assert {p.consents["marketing"].event_id for p in parsed} == {
        "con-0000001",
        "con-0000002",
        "con-0000003",
    }
    assert all(p.granted("marketing") and p.fed_topics == {"shared.a", "shared.b"} for p in parsed)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("worker_vs_replay", 0.5, True),  # >= 0.5, the bound included
        ("worker_vs_replay", 0.49, False),
        ("e2e_p99_ms", 250, True),  # <= 250, the bound included
        ("million_subjects_rss_mib", 2000, False),  # > 1536
        ("replay_events_per_s", 5, None),  # reported, no goal
    ],
)
def test_when_value_compared_then_goal_met_or_not(
    key: str, value: float, expected: bool | None
) -> None:
    assert met(key, value) is expected


def test_when_own_memory_read_then_rss_and_peak_in_mib() -> None:
    memory = memory_mib(os.getpid())
    assert 0 < memory["VmRSS"] <= memory["VmHWM"]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("# HELP x\npurposegate_consent_subjects 1e+06\n", 1_000_000),  # a float's notation
        ("purposegate_consent_subjects 42.0\n", 42),
        ("other_metric 1\n", None),  # not there yet
    ],
)
def test_when_metrics_page_read_then_subjects_in_table(page: str, expected: int | None) -> None:
    assert _subjects_in_table(page) == expected


@pytest.mark.parametrize(
    ("pids", "keys"),
    [
        # this process: its CPU share, and its main thread's on-CPU and waiting shares
        (
            {"worker": os.getpid()},
            {"worker_cores", "worker_main_on_cpu", "worker_main_waiting_for_cpu"},
        ),
        # a process that is not there (or not known) is left out, not an error
        ({"worker": None, "broker": 2**22 + 17}, set()),
    ],
)
def test_when_cpu_window_measured_then_shares_of_known_processes(
    pids: dict[str, int | None], keys: set[str]
) -> None:
    window = CpuWindow(pids)
    window.start()
    sum(range(200_000))  # a little CPU
    time.sleep(0.3)  # CPU time counts in ticks (10 ms): a short window would divide one by little
    shares = window.stop()
    assert keys <= shares.keys()
    assert not ({"worker_cores", "broker_cores"} - keys) & shares.keys()
    assert all(0 <= shares[k] <= 1.1 for k in keys)  # one thread: at most a core
