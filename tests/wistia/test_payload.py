"""`wistia.payload`: decoding is total (issue 14). Every body that is JSON decodes; what cannot be stored as
received becomes a defect on its record, and only a body that is not JSON at all raises."""

from __future__ import annotations

import json

import httpx
import pytest

from wistia_analytics.wistia.api_errors import (
    EndlessListError,
    ProtocolError,
    RequestDeadlineError,
    ResponseTooLargeError,
    RetriableError,
)
from wistia_analytics.wistia.payload import DEFECTS_FIELD, MAX_DEPTH, RAW_FIELD, as_records, decode
from wistia_analytics.wistia.retry import DEFAULT_RETRY_POLICY, Action, decide


def test_clean_bodies_decode_as_json_loads_does() -> None:
    body = json.dumps([{"a": 1, "b": 2.5, "c": [1, {"d": None}], "e": "x[y{z"}]).encode()
    assert decode(body) == json.loads(body)


@pytest.mark.parametrize("raw", ["1e999", "-1e999", "1.5E+400", "9" * 5000])
def test_numbers_that_cannot_be_stored_are_kept_as_text_with_a_defect(raw: str) -> None:
    (record,) = decode(f'[{{"n": {raw}, "ok": 1}}]'.encode())
    assert record["n"] == raw and record["ok"] == 1
    assert record[DEFECTS_FIELD] == [f"n: number {raw[:40]} is not finite or too long; kept as text"]
    json.dumps(record, allow_nan=False)  # storable


def test_non_finite_numbers_inside_lists_are_flagged() -> None:
    (record,) = decode(b'[{"xs": [1, 1e999]}]')
    assert record["xs"] == [1, "1e999"] and record[DEFECTS_FIELD]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5000, 100_000])
def test_a_record_nested_past_the_limit_becomes_raw_text_and_its_neighbours_stay(depth: int) -> None:
    deep = '{"a":' * depth + "1" + "}" * depth
    out = decode(f'[{{"id": 1}}, {deep}, {{"id": "3,]"}}]'.encode())
    assert out[0] == {"id": 1} and out[2] == {"id": "3,]"}
    assert out[1][DEFECTS_FIELD] == [f"nested deeper than {MAX_DEPTH} levels; kept as raw text"]
    assert out[1][RAW_FIELD].startswith('{"a":')


def test_nesting_within_the_limit_is_kept() -> None:
    depth = MAX_DEPTH - 1
    body = ('[{"a":' + '{"a":' * (depth - 1) + "1" + "}" * depth + "]").encode()
    assert decode(body) == json.loads(body)


@pytest.mark.parametrize("body", [b"[" * 5000, b"[1,,2]", b"{", b"", b"[" * 3000 + b"]" * 2999, b"NaN", b"[Infinity]"])
def test_a_body_that_is_not_json_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        decode(body)


def test_non_object_elements_become_defect_records() -> None:
    out = as_records([{"a": 1}, None, "s", [1]])
    assert out[0] == {"a": 1}
    assert [r[DEFECTS_FIELD][0] for r in out[1:]] == [
        "expected a JSON object, got null",
        "expected a JSON object, got a string",
        "expected a JSON object, got an array",
    ]
    assert [r[RAW_FIELD] for r in out[1:]] == ["null", '"s"', "[1]"]


def test_the_one_retry_policy_classifies_the_new_errors() -> None:
    """A request past its deadline may work next time (retried); a body too big, a list that never ends or an
    answer of the wrong shape would come back the same (fatal for that request, the API's fault: exit 3)."""
    deadline = RequestDeadlineError("GET", "/x", deadline=1.0, received=3)
    assert isinstance(deadline, RetriableError)
    assert decide(DEFAULT_RETRY_POLICY, 1, deadline, rand=lambda: 0.0).action is Action.RETRY
    for fatal in (
        ResponseTooLargeError("GET", "/x", limit=10),
        EndlessListError("/x", "page 3 repeats page 1"),
        ProtocolError("shape", kind="unexpected_shape"),
    ):
        assert decide(DEFAULT_RETRY_POLICY, 1, fatal).action is Action.FATAL
        assert int(fatal.exit_code) == 3
        assert "bug" not in str(fatal)


def test_deflate_and_raw_deflate_bodies_decode_within_the_limit() -> None:
    import zlib

    from wistia_analytics.wistia.client import WistiaClient

    data = json.dumps({"ok": True}).encode()
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bodies = [zlib.compress(data), raw_deflate.compress(data) + raw_deflate.flush()]

    def handler(request: httpx.Request) -> httpx.Response:
        body = bodies[int(request.url.params["i"])]
        return httpx.Response(200, headers={"Content-Encoding": "deflate"}, stream=httpx.ByteStream(body))

    with WistiaClient("http://127.0.0.1:1/v1", "tok", transport=httpx.MockTransport(handler)) as client:
        assert client.get_json("/a.json", {"i": 0}) == {"ok": True}
        assert client.get_json("/a.json", {"i": 1}) == {"ok": True}
