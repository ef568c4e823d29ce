"""Bronze files the engine could not read, found before the engine reads them (issue 14).

A truncated or corrupt `.jsonl.gz` makes DuckDB's (and Spark's) JSON reader fail the whole statement, so every
later rebuild would fail too. Each file is checked once on its way in: the gzip stream decodes to its end (CRC
and length trailer included) and, for a file not read before, every line is a JSON object. A file that fails is
quarantined as a file (entity ``bronze_file`` in ``silver_quarantine``) and left out; the rest builds.
"""

from __future__ import annotations

import gzip
import json
import zlib

from wistia_analytics.lake.storage import Storage

BRONZE_FILE_ENTITY = "bronze_file"
_CHUNK = 1 << 20


def bronze_file_defect(storage: Storage, path: str, *, parse_lines: bool) -> str | None:
    """Why the Bronze file `path` cannot be read (None: readable).

    `parse_lines` also parses each line (files not read before); otherwise only the gzip stream is decoded,
    a streaming pass in C, for files whose lines were checked when they were new.
    """
    try:
        with storage.open_read(path) as raw, gzip.GzipFile(fileobj=raw) as stream:
            if not parse_lines:
                while stream.read(_CHUNK):
                    pass
                return None
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except ValueError:
                    return f"unreadable Bronze file: line {number} is not JSON"
                if not isinstance(doc, dict):
                    return f"unreadable Bronze file: line {number} is not a JSON object"
    except FileNotFoundError:
        return "unreadable Bronze file: missing"
    except EOFError:
        return "unreadable Bronze file: truncated gzip stream"
    except gzip.BadGzipFile as exc:
        return f"unreadable Bronze file: not gzip ({exc})"
    except zlib.error:
        return "unreadable Bronze file: corrupt gzip data"
    except OSError as exc:
        return f"unreadable Bronze file: {type(exc).__name__}"
    return None
