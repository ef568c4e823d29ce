"""The partitions of a table's current version that an incremental run keeps as they are.

Both the audit (a new row's key may already be in a kept partition) and the write (the new version's files are
the kept ones plus those written) need them, so they are computed once, here.
"""

from __future__ import annotations

from dataclasses import dataclass

from wistia_analytics.lake.table_versions import Manifest


@dataclass(frozen=True)
class KeptPartitions:
    """Partition value -> files of the previous version, for the partitions this run does not re-derive."""

    files: dict[str, list[str]]
    columns: list[list[str]]

    @classmethod
    def of(cls, previous: Manifest | None, rebuilt: set[str] | None) -> KeptPartitions | None:
        """None when the whole table is rebuilt (no previous version, or no partition list)."""
        if rebuilt is None or previous is None:
            return None
        return cls({d: fs for d, fs in previous.files.items() if d not in rebuilt}, previous.columns)

    def all_files(self) -> list[str]:
        return [f for fs in self.files.values() for f in fs]
