"""Rate limiting, every fault knob, seeded replay, and byte-for-byte determinism."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TODAY, api_client
from wistia_analytics.sandbox import SandboxConfig, run_sandbox


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_answers_with_retry_after(status: int) -> None:
    config = SandboxConfig(size="tiny", today=TODAY, rate_limit_per_minute=5, rate_limit_status=status)
    with run_sandbox(config) as sb, api_client(sb) as api:
        codes = [api.get("/account").status_code for _ in range(5)]
        throttled = api.get("/account")
        assert codes == [200] * 5
        assert throttled.status_code == status
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60
        assert throttled.headers["content-type"].startswith("text/plain")
        assert throttled.text == "Rate limit exceeded"
        assert sb.stats()["throttled"] == 1


def _faulty(kind: str, **extra: float):  # type: ignore[no-untyped-def]
    return run_sandbox(
        SandboxConfig(size="tiny", today=TODAY, rate_limit_per_minute=0, faults=1.0, fault_kinds=(kind,), **extra)  # type: ignore[arg-type]
    )


def test_fault_http_statuses() -> None:
    expected = {
        "http_500": (500, "application/json"),
        "http_502": (502, "text/html"),
        "http_503": (503, "text/plain"),
    }
    for kind, (status, ctype) in expected.items():
        with _faulty(kind) as sb, api_client(sb) as api:
            resp = api.get("/medias")
            assert resp.status_code == status
            assert resp.headers["content-type"].startswith(ctype)
            if kind == "http_503":
                assert resp.headers["Retry-After"] == "1"


def test_fault_slow_and_timeout_stall_past_the_client_timeout() -> None:
    with _faulty("slow", fault_slow_seconds=0.6) as sb:
        with (
            httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.token}"}, timeout=0.2) as api,
            pytest.raises(httpx.ReadTimeout),
        ):
            api.get("/medias")
        with api_client(sb) as patient:
            assert patient.get("/medias").status_code == 200  # slow, but a full answer
    with _faulty("timeout", fault_timeout_seconds=0.6) as sb:
        with (
            httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {sb.token}"}, timeout=0.2) as api,
            pytest.raises(httpx.ReadTimeout),
        ):
            api.get("/medias")
        with api_client(sb) as patient, pytest.raises(httpx.RemoteProtocolError):
            patient.get("/medias")  # after the stall the connection closes with no answer


def test_fault_truncated_invalid_json_and_dropped() -> None:
    with _faulty("truncated") as sb, api_client(sb) as api, pytest.raises(httpx.RemoteProtocolError):
        api.get("/medias")
    with _faulty("invalid_json") as sb, api_client(sb) as api:
        resp = api.get("/medias")
        assert resp.status_code == 200
        with pytest.raises(ValueError):
            resp.json()
    with _faulty("dropped") as sb, api_client(sb) as api, pytest.raises(httpx.RemoteProtocolError):
        api.get("/medias")


def _replay(seed: int) -> tuple[list[str], int]:
    config = SandboxConfig(
        size="tiny",
        seed=seed,
        today=TODAY,
        rate_limit_per_minute=0,
        faults=0.4,
        fault_kinds=("http_500", "http_502", "http_503", "invalid_json"),
    )
    with run_sandbox(config) as sb, api_client(sb) as api:
        out = [f"{r.status_code}:{len(r.content)}" for r in (api.get("/account") for _ in range(40))]
        return out, sum(sb.stats()["faults"].values())


def test_faults_are_seeded_and_replayable() -> None:
    (first, n_faults), (again, _), (other, _) = _replay(1), _replay(1), _replay(2)
    assert first == again
    assert first != other
    healthy = max(set(first), key=first.count)
    assert sum(s != healthy for s in first) == n_faults
    assert 5 < n_faults < 30


def test_fault_rate_is_honoured() -> None:
    config = SandboxConfig(size="tiny", today=TODAY, rate_limit_per_minute=0, faults=0.25, fault_kinds=("http_500",))
    with run_sandbox(config) as sb, api_client(sb) as api:
        codes = [api.get("/account").status_code for _ in range(200)]
    assert 0.15 < codes.count(500) / 200 < 0.34
    assert set(codes) == {200, 500}


def _bytes(seed: int) -> list[bytes]:
    config = SandboxConfig(size="tiny", seed=seed, today=TODAY, rate_limit_per_minute=0)
    with run_sandbox(config) as sb, api_client(sb) as api:
        media = api.get("/medias").json()[0]["hashed_id"]
        paths = [
            "/medias",
            "/projects",
            "/account",
            "/stats/account",
            f"/stats/medias/{media}",
            f"/stats/medias/{media}/engagement",
            "/stats/visitors?per_page=100",
            "/stats/events?per_page=100&page=2",
            "/stats/account/by_date?start_date=2026-11-01&end_date=2026-11-25",
        ]
        return [api.get(p).content for p in paths]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a, b, c = _bytes(21), _bytes(21), _bytes(22)
    assert a == b
    assert all(x != y for x, y in zip(a, c, strict=True))
