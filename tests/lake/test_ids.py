"""Sortable ids (run ids, table versions): a readable UUIDv7 with a monotonic counter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from wistia_analytics.lake.ids import id_time, sortable_id, uuid7
from wistia_analytics.lake.layout import check_run_id

NEW_ID = re.compile(r"^\d{8}T\d{6}_\d{3}Z-[0-9a-f]{3}-[0-9a-f]{16}$")
T0 = datetime(2026, 12, 3, 17, 7, 20, 123456, tzinfo=UTC)


def test_ten_thousand_ids_in_a_tight_loop_sort_in_creation_order_and_are_unique() -> None:
    ids = [sortable_id() for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    uuids = [uuid7() for _ in range(10_000)]
    assert uuids == sorted(uuids) and len(set(uuids)) == len(uuids)
    assert [str(u) for u in uuids] == sorted(str(u) for u in uuids)  # as text too


def test_ids_for_one_fixed_moment_still_sort_in_creation_order() -> None:
    """A fixed clock (tests, a frozen `now`): the counter orders them; more than 4096 borrow the next ms."""
    moment = T0 + timedelta(days=4)
    ids = [sortable_id(moment) for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == 5000
    assert id_time(ids[0]) == moment.replace(microsecond=123000)
    assert id_time(ids[-1]) == moment.replace(microsecond=124000)


def test_a_uuid7_is_an_rfc_9562_version_7_uuid_carrying_its_millisecond() -> None:
    moment = T0 + timedelta(days=1)  # ids share one process-wide counter: each test its own moment
    value = uuid7(moment)
    assert value.version == 7 and value.variant == "specified in RFC 4122"
    assert value.int >> 80 == int(moment.timestamp() * 1000)


def test_ids_are_readable_valid_run_ids_and_path_segments() -> None:
    made = sortable_id(T0 + timedelta(days=2))
    assert NEW_ID.fullmatch(made) and made.startswith("20261205T170720_123Z-000-")
    assert check_run_id(made) == made
    assert id_time(made) == datetime(2026, 12, 5, 17, 7, 20, 123000, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        sortable_id(datetime(2026, 12, 3))


def test_backdated_ids_carry_the_time_they_were_given() -> None:
    moment = T0 + timedelta(days=3)
    later = sortable_id(moment + timedelta(hours=1))
    earlier = sortable_id(moment)
    assert earlier < later and id_time(earlier) == moment.replace(microsecond=123000)


@pytest.mark.parametrize(
    ("old", "made_at"),
    [
        ("20261125T174512Z-1a2b3c", datetime(2026, 11, 25, 17, 45, 12, tzinfo=UTC)),  # run id
        ("20261125T174512-1a2b3c", datetime(2026, 11, 25, 17, 45, 12, tzinfo=UTC)),  # table version
    ],
)
def test_old_ids_still_parse_validate_and_sort_before_every_new_id(old: str, made_at: datetime) -> None:
    assert check_run_id(old) == old
    assert id_time(old) == made_at
    assert old < sortable_id(made_at)  # even one made in the same second


@pytest.mark.parametrize("name", ["not-a-version", "", "20261325T174512-1a2b3c", "20261125T174512_12Z-000-0"])
def test_other_names_have_no_time(name: str) -> None:
    assert id_time(name) is None
