"""A transform killed (SIGKILL) anywhere loses nothing: the next normal run gives the tables of a run never killed.

Each case runs `python -m wistia_analytics transform` in a subprocess with `WISTIA_ANALYTICS_CRASH_AT` naming a
crash point, on a copy of the same lake, then re-runs it normally and compares every table with the tables of
an uninterrupted run on another identical copy. The killed run leaves its lake lock behind; the re-run must
take it over (its holder's pid is gone) instead of reporting the lake busy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.tables_compare import assert_same_rows
from tests.transform.fixture_lake import M1, M2, SITE, build, event, media, write_run
from wistia_analytics.contracts.tables import layer_and_name
from wistia_analytics.crashpoints import ENV as CRASH_ENV
from wistia_analytics.lake.layout import LOCK_PATH
from wistia_analytics.lake.storage import Storage
from wistia_analytics.query.catalog import TABLES, open_catalog
from wistia_analytics.transform.models import MODELS

Snapshot = dict[str, list[tuple[object, ...]]]


def third_run_pages() -> list[tuple[str, list[dict[str, object]], str, dict[str, object] | None]]:
    """A later batch: a new day, a late re-delivery of e1 with another percent_viewed, M2 renamed."""
    return [
        ("medias", [media(M1, 101, "Launch", 100.0), media(M2, 102, "Tour (2027 cut)", 200.0)], "/medias.json", None),
        (
            "media_daily_stats",
            [
                {"date": "2026-11-01", "load_count": 10, "play_count": 3, "hours_watched": 200 / 3600},
                {"date": "2026-11-03", "load_count": 6, "play_count": 1, "hours_watched": 30 / 3600},
            ],
            f"/stats/medias/{M1}/by_date.json",
            {"media_id": M1},
        ),
        (
            "media_daily_stats",
            [{"date": "2026-11-03", "load_count": 2, "play_count": 1, "hours_watched": 50 / 3600}],
            f"/stats/medias/{M2}/by_date.json",
            {"media_id": M2},
        ),
        (
            "events",
            [
                event("e1", M1, "v1", "2026-11-01T09:00:00.000Z", 0.75, SITE + "?utm_source=facebook"),
                event("e8", M1, "v3", "2026-11-03T08:00:00.000Z", 0.3, SITE),
                event("e9", M2, "v1", "2026-11-03T09:30:00.000Z", 0.25, SITE + "?utm_source=youtube"),
            ],
            "/stats/events.json",
            None,
        ),
    ]


def cli(lake: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV} | {"LAKE_URI": str(lake), "COLUMNS": "200"}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "wistia_analytics", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=lake.parent,  # no stray .env file
        timeout=120,
    )


def snapshot(lake: Path) -> Snapshot:
    con, manifests = open_catalog(Storage.from_uri(str(lake)))
    try:
        assert set(manifests) == set(TABLES)
        out = {}
        for table in TABLES:
            layer, name = layer_and_name(table)
            out[table] = con.execute(f"SELECT * FROM {layer}.{name}").fetchall()
        return out
    finally:
        con.close()


def assert_same_tables(got: Snapshot, want: Snapshot) -> None:
    for table in TABLES:
        assert_same_rows(got[table], want[table], table)


def crash_then_recover(lake: Path, crash_at: str) -> subprocess.CompletedProcess[str]:
    killed = cli(lake, "transform", crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stdout, killed.stderr)
    assert (lake / LOCK_PATH).exists()  # the killed run could not release its lock
    rerun = cli(lake, "transform")
    assert rerun.returncode == 0, (rerun.stdout, rerun.stderr)
    assert "busy" not in rerun.stderr and "Traceback" not in rerun.stderr
    assert not (lake / LOCK_PATH).exists()
    return rerun


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Snapshot]:
    """A lake transformed once, then given a new Bronze batch; and the tables of an uninterrupted next run."""
    base = tmp_path_factory.mktemp("crash") / "lake"
    build(Storage.from_uri(str(base)))
    first = cli(base, "transform")
    assert first.returncode == 0, first.stderr
    write_run(
        Storage.from_uri(str(base)), "20261104T120000Z-cccccc", datetime(2026, 11, 4, 12, tzinfo=UTC), third_run_pages()
    )
    reference = base.parent / "reference"
    shutil.copytree(base, reference)
    done = cli(reference, "transform")
    assert done.returncode == 0, done.stderr
    assert "incremental" in done.stdout, done.stdout
    want = snapshot(reference)
    assert any(r[0].isoformat() == "2026-11-03" for r in want["gold_account_daily"])  # the new batch is in
    return base, want


CRASH_POINTS = [f"transform.before_publish:{k}" for k in (1, 5, 9, len(MODELS))] + ["transform.before_state"]


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_killed_incremental_run_recovers_to_the_uninterrupted_tables(
    batches: tuple[Path, Snapshot], tmp_path: Path, crash_at: str
) -> None:
    base, want = batches
    lake = tmp_path / "lake"
    shutil.copytree(base, lake)
    crash_then_recover(lake, crash_at)
    assert_same_tables(snapshot(lake), want)
    again = cli(lake, "transform")
    assert again.returncode == 0 and "no new Bronze files" in again.stdout, again.stdout
    assert_same_tables(snapshot(lake), want)


@pytest.mark.parametrize("crash_at", ["transform.before_publish:3", "transform.before_state"])
def test_killed_first_run_recovers(tmp_path: Path, crash_at: str) -> None:
    lake, reference = tmp_path / "lake", tmp_path / "reference"
    build(Storage.from_uri(str(lake)))
    shutil.copytree(lake, reference)
    assert cli(reference, "transform").returncode == 0
    crash_then_recover(lake, crash_at)
    assert_same_tables(snapshot(lake), snapshot(reference))


def test_crash_point_beyond_the_last_publish_does_not_fire(batches: tuple[Path, Snapshot], tmp_path: Path) -> None:
    """There is one `before_publish` pass per model: asking for one more lets the run finish normally."""
    base, want = batches
    lake = tmp_path / "lake"
    shutil.copytree(base, lake)
    done = cli(lake, "transform", crash_at=f"transform.before_publish:{len(MODELS) + 1}")
    assert done.returncode == 0, done.stderr
    assert_same_tables(snapshot(lake), want)
