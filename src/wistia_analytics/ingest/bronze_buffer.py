"""Pages waiting to become one Bronze file: bounds memory whatever the account size."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wistia_analytics.lake.bronze import BronzeFile, BronzeWriter, Lineage


class PageBuffer:
    """Pages of one stream buffered into one Bronze file; flushed by count, then on close.

    `on_file` is called with the buffer's lock held: it must not call back into the buffer.
    """

    def __init__(self, writer: BronzeWriter, stream: str, limit: int, on_file: Callable[[BronzeFile], None]) -> None:
        self.writer, self.stream, self.limit, self.on_file = writer, stream, limit, on_file
        self.pages: list[tuple[list[dict[str, Any]], Lineage]] = []
        self.lock = threading.Lock()

    def add(self, records: list[dict[str, Any]], lineage: Lineage) -> None:
        with self.lock:
            if records:
                self.pages.append((records, lineage))
            if len(self.pages) >= self.limit:
                self._flush()

    def flush(self) -> None:
        with self.lock:
            self._flush()

    def _flush(self) -> None:
        if self.pages:
            pages, self.pages = self.pages, []
            self.on_file(self.writer.write_pages(self.stream, pages))
