"""The large-account simulation as a test (issue 14): a daily increment through repeated bounded calls loses
nothing and doubles nothing that Silver keeps, events included. The small sandbox with 3 s per call here; the
benchmark (`benchmarks/large_account_calls.py`) runs the medium one at 20 s per call and reports the figures."""

from __future__ import annotations

import pytest
from benchmarks.large_account_calls import large_account_calls, simulate


@pytest.mark.slow
def test_a_daily_increment_completes_over_bounded_calls_with_nothing_lost() -> None:
    sim = simulate("small", call_seconds=3.0, max_calls=20)
    assert sim.complete, sim.calls
    assert len(sim.calls) > 1  # the deadline really cut the work
    assert sim.calls[0]["records"].get("events")  # events come in the first call, before the visitors snapshot
    assert "events" not in (sim.calls[0]["stopped"] or [])
    assert all(n == 0 for n in sim.lost.values()), sim.lost
    assert all(n == 0 for n in sim.extra.values()), sim.extra
    assert sim.bronze_duplicates["visitors"] == 0  # the snapshot resumed at its next page, none fetched twice
    assert sim.keys["events"] > 0 and sim.keys["visitors"] > 0


def test_a_real_large_account_needs_about_five_lambda_calls_a_day() -> None:
    figures = large_account_calls()
    assert figures["requests_per_call"] == 8_400
    assert 4 < figures["calls"] < 6
