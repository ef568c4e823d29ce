"""Opening the published Gold: the handle's lists, its partitions, and what a lake without Gold says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.dashboard.conftest import M3, P1, P2
from tests.transform.fixture_lake import M1, M2
from wistia_analytics.dashboard.gold import (
    DATE_PARTITIONED,
    GOLD_TABLES,
    Gold,
    GoldUnavailableError,
    lake_versions,
    open_gold,
)
from wistia_analytics.errors import ConfigurationError
from wistia_analytics.lake.storage import Storage
from wistia_analytics.lake.table_versions import TableStore

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)


def test_open_gold_lists_medias_projects_channels_and_dates(gold: Gold) -> None:
    assert (gold.first_day, gold.last_day) == (D1, D2)
    assert [(m.media_id, m.media_name, m.project_id, m.project_name, m.has_curve) for m in gold.medias] == [
        (M3, "Demo", P2, "Sales", True),
        (M1, "Launch", P1, "Marketing", True),
        (M2, "Tour", P1, "Marketing", True),
    ]
    assert gold.projects == ((P1, "Marketing"), (P2, "Sales"))
    assert gold.channels == ("direct", "email", "facebook", "linkedin", "search", "youtube")
    assert set(gold.partitions) == set(DATE_PARTITIONED)
    assert [day for day, _ in gold.partitions["gold_media_daily"]] == ["2026-11-01", "2026-11-02"]


def test_lake_versions_name_every_published_gold_table(gold_lake: Path) -> None:
    storage = Storage.from_uri(str(gold_lake))
    store = TableStore(storage)
    expected = []
    for table in GOLD_TABLES:
        manifest = store.current(table)
        assert manifest is not None
        expected.append((table, manifest.version))
    assert lake_versions(storage) == tuple(sorted(expected))


def test_missing_and_bronze_only_lakes_are_reported(tmp_path: Path) -> None:
    with pytest.raises(GoldUnavailableError) as missing:
        open_gold(Storage.from_uri(str(tmp_path / "nowhere")))
    assert missing.value.kind == "missing"
    assert isinstance(missing.value, ConfigurationError)  # build Gold (or fix LAKE_URI): retrying cannot help
    assert lake_versions(Storage.from_uri(str(tmp_path / "nowhere"))) == ()
