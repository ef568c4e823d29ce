"""No lake file, log or run record holds the API token, after normal, killed, refused and failing runs.

The scanner is checked first on planted tokens (plain, gzip, Parquet values, hidden temp files), so that zero
hits means "looked and absent", not "could not see".
"""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest
from benchmarks.campaign_idempotence import busy_lines
from benchmarks.campaign_support import Workspace, all_runs, new_token, run_args, scan_for_token

from tests.campaigns.conftest import References

pytestmark = pytest.mark.slow


def test_the_scanner_finds_a_planted_token_in_every_kind_of_file(tmp_path: Path) -> None:
    token = new_token()
    (tmp_path / "_runs").mkdir()
    (tmp_path / "_runs" / "r.json").write_text(f'{{"errors": ["Bearer {token}"]}}')
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(f'{{"record": "{token}"}}\n'.encode() * 50))
    (tmp_path / ".b.jsonl.gz.1a2b.tmp").write_bytes(gzip.compress(token.encode())[:-6])  # cut by a kill
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT unnest(['a', 'm {token}', 'z']) AS visitor_email) TO '{tmp_path / 't.parquet'}' "
        "(FORMAT PARQUET, COMPRESSION GZIP)"
    )
    con.execute(f"COPY (SELECT 'clean' AS v) TO '{tmp_path / 'clean.parquet'}' (FORMAT PARQUET)")
    con.close()
    result = scan_for_token(tmp_path, token)
    hits = {Path(h.split(":")[0]).name: h.split(": ")[1] for h in result.hits}
    assert sorted(hits) == [".b.jsonl.gz.1a2b.tmp", "b.jsonl.gz", "r.json", "t.parquet"]
    assert hits["r.json"] == "bytes"
    assert hits["b.jsonl.gz"] == hits[".b.jsonl.gz.1a2b.tmp"] == "gunzipped"  # the cut one too
    assert hits["t.parquet"].endswith("parquet values")  # read as values (compressed pages can hide bytes)
    assert (result.files, result.gzip_files, result.parquet_files) == (5, 2, 2)


def test_no_file_output_or_run_record_holds_the_token(workspace: Workspace, references: References) -> None:
    lake = workspace.lake("secrets")
    assert workspace.run(lake, *run_args(), label="secrets-run").returncode == 0
    for point in ("transform.before_state", "ingest.after_bronze_before_state"):  # the last one leaves its lock
        killed = workspace.start(lake, *run_args(), label="secrets-killed", crash_at=point).wait()
        assert killed.returncode == -9
    a = workspace.start(lake, *run_args(), label="secrets-pair-a")
    b = workspace.start(lake, *run_args(), label="secrets-pair-b")
    pair = [a.wait(), b.wait()]
    assert sorted(f.returncode for f in pair) == [0, 4] and sum(len(busy_lines(f)) for f in pair) == 1
    wrong = new_token()
    refused = workspace.run(lake, *run_args(), label="secrets-wrong-token", token=wrong)
    assert refused.returncode == 2 and "WISTIA_API_TOKEN" in refused.stderr
    assert wrong not in refused.stdout + refused.stderr
    assert any(r.status.value in ("running", "failed") for r in all_runs(lake))  # crashed and refused runs recorded

    everything = scan_for_token(workspace.root, workspace.token)  # every lake and output of this session
    assert everything.parquet_files > 0 and everything.gzip_files > 0 and len(list(workspace.logs.iterdir())) >= 12
    assert everything.hits == []
    assert scan_for_token(workspace.root, wrong).hits == []
