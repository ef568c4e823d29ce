"""Total decoding of the API's JSON: whatever a 200 body holds, the result can be stored as received.

`json.loads` alone is not total for our purposes: ``1e999`` becomes ``inf`` (which Bronze cannot write as JSON),
a 5,000-digit integer raises, and nesting deeper than the interpreter's recursion limit raises
`RecursionError`. Here each of these becomes a *defect* on the record that carried it, in the ``__defects__``
field Silver already quarantines on (see `DEFECTS_FIELD`):

- a number that is not a finite float or is too long for an int is kept as its raw text (a string) with a
  defect ``"<key>: number ... is not finite; kept as text"``;
- a record nested deeper than `MAX_DEPTH` levels is replaced by ``{"__defects__": [...], "__raw__": <its JSON
  text, cut to RAW_LIMIT characters>}``: the raw text is what Bronze keeps of it;
- an element of a list page that is not an object becomes such a raw-with-defect record too (`as_records`).

The body as a whole is JSON or it is not (`ValueError`: the client's `InvalidJSONError`, retried).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

DEFECTS_FIELD = "__defects__"  # added to an object the API sent malformed; Silver quarantines it
RAW_FIELD = "__raw__"  # the JSON text of a value that could not be kept as a structure
MAX_DEPTH = 64  # levels of nesting inside one record (a flat object is 1); Wistia's deepest is 3
RAW_LIMIT = 65_536  # characters of raw text kept for a record replaced by its defect
MAX_INT_DIGITS = 300  # longer integers are kept as text (Python refuses > 4,300 digits; DuckDB > 38)

_BAD_CHARS = re.compile("[\ud800-\udfff\x00]")  # lone surrogates (not encodable) and NUL


class RawNumber(str):
    """The text of a JSON number that cannot be stored as a number (``1e999``, a 500-digit integer)."""


def _parse_float(text: str) -> float | RawNumber:
    value = float(text)
    return value if math.isfinite(value) else RawNumber(text)


def _parse_int(text: str) -> int | RawNumber:
    return RawNumber(text) if len(text.lstrip("-")) > MAX_INT_DIGITS else int(text)


def _value_defect(key: str, value: Any) -> tuple[Any, str | None]:
    """`value` cleaned for storage, and the defect found in it (None: none)."""
    if isinstance(value, RawNumber):
        return str(value), f"{key}: number {value[:40]} is not finite or too long; kept as text"
    if isinstance(value, str) and _BAD_CHARS.search(value):
        return _BAD_CHARS.sub("\ufffd", value), f"{key}: invalid characters"
    if isinstance(value, list):
        found: str | None = None
        cleaned = []
        for item in value:
            if isinstance(item, RawNumber):
                item, found = str(item), f"{key}: number {item[:40]} is not finite or too long; kept as text"
            elif isinstance(item, str) and _BAD_CHARS.search(item):
                item, found = _BAD_CHARS.sub("\ufffd", item), found or f"{key}: invalid characters"
            cleaned.append(item)
        return (cleaned, found) if found else (value, None)
    return value, None


def checked_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, noting defects json.loads would hide: duplicate keys, lone surrogates, NUL,
    numbers that are not finite or too long."""
    out: dict[str, Any] = {}
    defects: list[str] = []
    for key, raw in pairs:
        value, defect = _value_defect(key, raw)
        if defect:
            defects.append(defect)
        elif isinstance(value, dict) and DEFECTS_FIELD in value:
            defects.extend(f"{key}.{d}" for d in value.pop(DEFECTS_FIELD))  # "visitor_identity.name: ..."
        if key in out and out[key] != value:
            defects.append(f"{key}: duplicate key with different values")
        out[key] = value
    if defects:
        out[DEFECTS_FIELD] = defects
    return out


def unique_keys_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`checked_object` for bodies known to hold no bad characters: only duplicate keys are left to catch."""
    out = dict(pairs)
    return out if len(out) == len(pairs) else checked_object(pairs)


# What in a body's bytes can decode to a character `_BAD_CHARS` matches (a \u0000 or surrogate escape, a UTF-8
# encoded surrogate, or any NUL byte, which also covers UTF-16/32 bodies), or carry a defects field. A body
# without any of these skips `checked_object`'s per-value scan (measured: ~17 -> ~11 us per event record).
# Numbers are not searched for here (a regex over every body cost more than the decode): a non-finite float is
# noticed by the `parse_float` hook of the fast path, an integer too long for Python by `json.loads` refusing it,
# and either sends the body to the careful path.
MAYBE_DEFECTIVE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])|\xed[\xa0-\xbf]|\x00|" + DEFECTS_FIELD.encode())
BRACKETS_PER_RECORD = 12  # a page with more `[`/`{` per record than this is walked for its depth (see `decode`)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _NeedsCarefulParseError(Exception):
    """The fast path met a number it cannot keep; decode again on the careful path."""


def _fast_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NeedsCarefulParseError
    return value


def _loads(text: str | bytes, hook: Callable[[list[tuple[str, Any]]], dict[str, Any]], careful: bool) -> Any:
    if careful:
        return json.loads(
            text, object_pairs_hook=hook, parse_constant=_no_constants, parse_float=_parse_float, parse_int=_parse_int
        )
    return json.loads(text, object_pairs_hook=hook, parse_constant=_no_constants, parse_float=_fast_float)


def decode(content: bytes) -> Any:
    """The JSON of a body, total (see the module's doc); `ValueError` only if the body is not JSON at all.

    Depth: a record the codec cannot nest (~1,000 levels: `RecursionError`) is always caught; below that, depth is
    checked exactly (`MAX_DEPTH`) on bodies holding more than `BRACKETS_PER_RECORD` opening brackets per record (a
    deep record adds one per level; Wistia's records hold 4 to 9), so the walk (~7 us a record) is skipped on
    ordinary pages. A record deeper than the limit in an otherwise ordinary page is kept as received: it can be.
    """
    careful = bool(MAYBE_DEFECTIVE.search(content))
    try:
        data = _parse(content, careful)
    except RecursionError:
        return _decode_deep(content, checked_object, careful=True)
    brackets = content.count(b"[") + content.count(b"{")
    if brackets <= MAX_DEPTH:  # cannot nest deeper than that
        return data
    if isinstance(data, list):
        if brackets <= 1 + BRACKETS_PER_RECORD * len(data):
            return data
        return [deep_defect(item) if too_deep(item, MAX_DEPTH) else item for item in data]
    return deep_defect(data) if too_deep(data, MAX_DEPTH) else data


def _parse(content: bytes, careful: bool) -> Any:
    if not careful:
        try:
            return _loads(content, unique_keys_object, careful=False)
        except _NeedsCarefulParseError:
            pass
        except ValueError as exc:
            if "digits" not in str(exc):  # Python's limit on int length: keep the number as text instead
                raise
    return _loads(content, checked_object, careful=True)


def too_deep(value: Any, limit: int) -> bool:
    """True when `value` nests more than `limit` levels of objects/arrays (iterative: no recursion)."""
    if not isinstance(value, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def defect_record(defect: str, raw: str) -> dict[str, Any]:
    """A record standing in for a value that cannot be stored as received: the defect and the raw text."""
    return {DEFECTS_FIELD: [defect], RAW_FIELD: raw[:RAW_LIMIT]}


def deep_defect(value: Any, raw: str | None = None) -> dict[str, Any]:
    if raw is None:
        try:
            raw = json.dumps(value, ensure_ascii=False)
        except (RecursionError, ValueError):
            raw = ""
    return defect_record(f"nested deeper than {MAX_DEPTH} levels; kept as raw text", raw)


def as_records(data: list[Any]) -> list[dict[str, Any]]:
    """The elements of a list page as records: one that is not an object becomes a raw-with-defect record."""
    if all(isinstance(item, dict) for item in data):
        return data
    out = []
    for item in data:
        if isinstance(item, dict):
            out.append(item)
        else:
            raw = json.dumps(item, ensure_ascii=False, allow_nan=True)
            out.append(defect_record(f"expected a JSON object, got {json_type(item)}", raw))
    return out


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _decode_deep(content: bytes, hook: Callable[[list[tuple[str, Any]]], dict[str, Any]], careful: bool) -> Any:
    """A body too deep for `json.loads`: an array is split into its elements, each decoded on its own."""
    text = content.decode("utf-8")  # UnicodeDecodeError is a ValueError: not JSON
    stripped = text.strip()
    if not stripped.startswith("["):
        _check_syntax(stripped)
        return deep_defect(None, stripped)
    out: list[Any] = []
    for piece in _split_array(stripped):
        try:
            item = _loads(piece, hook, careful)
        except RecursionError:
            _check_syntax(piece)
            out.append(deep_defect(None, piece.strip()))
            continue
        out.append(deep_defect(item) if too_deep(item, MAX_DEPTH) else item)
    return out


def _structure(text: str, start: int, stop: int) -> Iterator[tuple[int, int]]:
    """(index, depth) of every top-level-relevant character outside strings: nesting followed, strings skipped.

    Yields each `,` with the depth it sits at, then one final (stop, depth); ValueError on a stray closer. Only
    brackets are followed, so a value too deep for `json` to parse is still split or checked, never recursed.
    """
    depth = 0
    in_string = escaped = False
    for i in range(start, stop):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced JSON")
        elif ch == ",":
            yield i, depth
    if in_string:
        raise ValueError("unbalanced JSON")
    yield stop, depth


def _split_array(text: str) -> list[str]:
    """The texts of a JSON array's elements (strings and nesting respected); ValueError if it is not one."""
    if not text.endswith("]"):
        raise ValueError("not a JSON array")
    pieces: list[str] = []
    start = 1
    for i, depth in _structure(text, 1, len(text) - 1):
        if i == len(text) - 1:
            if depth != 0:
                raise ValueError("malformed JSON array")
            break
        if depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    last = text[start:-1]
    if last.strip() or pieces:
        pieces.append(last)
    if any(not p.strip() for p in pieces):
        raise ValueError("malformed JSON array")
    return pieces


def _check_syntax(text: str) -> None:
    """ValueError unless `text` is balanced JSON-ish nesting (a cheap check for a value too deep to parse)."""
    *_, (_, depth) = _structure(text, 0, len(text))
    if depth != 0:
        raise ValueError("unbalanced JSON")
