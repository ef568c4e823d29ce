"""Dashboard speed on a large Gold lake: every query function cold and warm, and server-side page renders.

The lake: Gold built (full transform, `wistia-analytics transform --full-rebuild` in a child process) from the
Bronze that `benchmarks.bronze_generator` generates for `$WISTIA_BENCH_DASHBOARD_EVENTS` events (default
10,000,000: the large sandbox account's whole 730 days; the Bronze is shared with `transform_rebuild`), and
cached under `$WISTIA_BENCH_CACHE/dashboard-gold-<bronze key>`. With `WISTIA_BENCH_DASHBOARD_EVENTS=small` it is
the small sandbox account (~100,000 events) ingested over HTTP and transformed, in a temporary folder.

1. Query functions (`wistia_analytics.dashboard.metrics`), in a fresh process: `open_gold`, then each function
   over a set of filter scenarios; cold = first call of that query shape in the process (Parquet footers not
   yet read by DuckDB; the OS page cache is whatever earlier steps left), warm = median of 5 more calls.
2. Server-side renders: the Streamlit page run by `AppTest` in a fresh process (empty Streamlit caches): the
   cold first render, then one filter change at a time, each a cache miss; the time of the whole script run
   and the time spent in queries (the page's own per-query timings).
Goal: every interaction under 300 ms of query time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOAL_MS = 300.0
WARM_ROUNDS = 5


# ---- the lake -------------------------------------------------------------------------------------------


def _link_tree(src: Path, dst: Path) -> None:
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)


def _transform(lake: Path) -> float:
    started = time.perf_counter()
    env = {
        **os.environ,
        "LAKE_URI": str(lake),
        "LOG_FORMAT": "text",
        "DUCKDB_MEMORY_LIMIT": os.environ.get("WISTIA_BENCH_MEMORY_LIMIT") or "6GB",  # DuckDB spills beyond it
    }
    subprocess.run(
        [sys.executable, "-m", "wistia_analytics", "transform", "--full-rebuild"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def large_gold(n_events: int) -> tuple[Path, str]:
    from benchmarks.bronze_generator import cache_root, ensure_lake

    bronze = ensure_lake(n_events)
    gold = cache_root() / f"dashboard-gold-{Path(bronze.root).name}"
    label = f"{bronze.events:,} events, {bronze.days} days {bronze.first_day}..{bronze.last_day} (large account)"
    if (gold / "gold" / "account_daily" / "_manifest.json").exists():
        return gold, label + f", Gold cached in {gold}"
    work = gold.with_name(gold.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    _link_tree(bronze.base, work)
    seconds = _transform(work)
    shutil.rmtree(gold, ignore_errors=True)
    work.rename(gold)
    return gold, label + f", Gold built in {seconds:.0f} s into {gold}"


def small_gold(tmp: Path) -> tuple[Path, str]:
    """The small sandbox account through real ingestion and transform (as `make demo` does)."""
    from urllib.parse import urlsplit

    from wistia_analytics.ingest.ingestor import IngestOptions
    from wistia_analytics.pipeline.embedded_sandbox import open_embedded_sandbox
    from wistia_analytics.pipeline.ingest_stage import run_ingest
    from wistia_analytics.pipeline.transform_stage import run_transform
    from wistia_analytics.sandbox import SIZES
    from wistia_analytics.sandbox.payloads import SITE
    from wistia_analytics.settings import REAL_API_URL, Settings

    lake = tmp / "lake"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        lake_uri=str(lake),
        wistia_api_url=REAL_API_URL,
        sandbox_size="small",
        ingest_backfill_days=SIZES["small"].history_days,
        channel_site_hosts=urlsplit(SITE).hostname or "",
    )
    run_ingest(settings, IngestOptions(command="bench ingest"), embedded=open_embedded_sandbox)
    run_transform(settings, command="bench transform")
    return lake, "small sandbox account (~100,000 events, 180 days), ingested and transformed"


# ---- in the child process -------------------------------------------------------------------------------


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _rss_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def child_queries(lake: str, mode: str) -> dict[str, Any]:
    from wistia_analytics.dashboard.gold import DATE_PARTITIONED, open_gold
    from wistia_analytics.dashboard.metrics import (
        Filters,
        by_channel,
        kpis,
        retention_curve,
        top_media,
        top_visitors,
        trend,
    )
    from wistia_analytics.dashboard.trust import trust
    from wistia_analytics.lake.storage import Storage

    storage = Storage.from_uri(lake)
    started = time.perf_counter()
    gold = open_gold(storage, hot="off")
    open_ms = (time.perf_counter() - started) * 1000
    rss_before = _rss_mib()
    if mode == "in-memory":
        gold.hot.build(gold.con)
        assert gold.hot.ready.is_set(), gold.hot.error
    top = top_media(gold, Filters(gold.first_day, gold.last_day), rank_by="plays", limit=1).rows[0]
    project = next(p for p, _ in gold.projects)
    base = Filters(gold.last_day - timedelta(days=29), gold.last_day)
    scenarios = {
        "30d": base,
        "7d": replace(base, start=gold.last_day - timedelta(days=6)),
        "90d": replace(base, start=gold.last_day - timedelta(days=89)),
        "365d": replace(base, start=gold.last_day - timedelta(days=364)),
        "all": replace(base, start=gold.first_day),
        "1 day": replace(base, start=gold.last_day),
        "30d, 1 media": replace(base, media_ids=(top.media_id,)),
        "30d, 1 project": replace(base, project_ids=(project,)),
        "30d, facebook": replace(base, channels=("facebook",)),
        "all, 1 media": replace(base, start=gold.first_day, media_ids=(top.media_id,)),
        "all, facebook": replace(base, start=gold.first_day, channels=("facebook",)),
        "all, 1 project": replace(base, start=gold.first_day, project_ids=(project,)),
        "200d (custom)": replace(base, start=gold.last_day - timedelta(days=199)),
    }
    functions: dict[str, Callable[[Filters], object]] = {
        "kpis": lambda f: kpis(gold, f),
        "trend (day, plays)": lambda f: trend(gold, f, "day", "plays"),
        "trend (week, engagement)": lambda f: trend(gold, f, "week", "engagement"),
        "top_media": lambda f: top_media(gold, f),
        "top_visitors": lambda f: top_visitors(gold, f),
        "by_channel": lambda f: by_channel(gold, f),
    }
    rows = []
    for name, f in scenarios.items():
        for fn_name, fn in functions.items():
            cold = _ms(lambda fn=fn, f=f: fn(f))  # type: ignore[misc]
            warm = statistics.median(_ms(lambda fn=fn, f=f: fn(f)) for _ in range(WARM_ROUNDS))  # type: ignore[misc]
            rows.append({"scenario": name, "function": fn_name, "cold_ms": cold, "warm_ms": warm})
    curve_cold = _ms(lambda: retention_curve(gold, top.media_id))
    curve_warm = statistics.median(_ms(lambda: retention_curve(gold, top.media_id)) for _ in range(WARM_ROUNDS))
    trust_ms = _ms(lambda: trust(storage, gold))
    sizes = {
        t: int(gold.con.execute(f"SELECT count(*) FROM gold.{t.removeprefix('gold_')}").fetchone()[0])  # type: ignore[index]
        for t in DATE_PARTITIONED
    }
    return {
        "mode": mode,
        "build_s": gold.hot.seconds,
        "rss_mib": [rss_before, _rss_mib()],
        "open_ms": open_ms,
        "rows": rows,
        "curve": [curve_cold, curve_warm],
        "trust_ms": trust_ms,
        "sizes": sizes,
        "days": (gold.last_day - gold.first_day).days + 1,
        "medias": len(gold.medias),
    }


# The proposed Gold column (see docs/dashboard.md): a 60-bit integer id derived from the visitor key, the same in
# DuckDB and Spark (Spark: CAST(conv(substr(sha2(visitor_key, 256), 1, 15), 16, 10) AS BIGINT)).
VISITOR_ID_SQL = "CAST(('0x' || substr(sha256(visitor_key), 1, 15)) AS BIGINT)"


def _fetch(con: Any, sql: str, params: Sequence[object]) -> object:
    return con.execute(sql, list(params)).fetchall()


def child_proposal(lake: str) -> dict[str, Any]:
    """Prototype of `gold_visitor_media_daily.visitor_id`: the Parquet-path visitor queries grouping on the string
    key vs on the integer id, on one prototype file holding both (sorted by day, as Gold writes it)."""
    import duckdb

    from wistia_analytics.dashboard.gold import open_gold
    from wistia_analytics.lake.storage import Storage

    gold = open_gold(Storage.from_uri(lake), hot="off")
    # the catalog's connection is read-only (it opens only published files): the prototype file is written and
    # read on a connection of its own, from the published files of the table
    files = [f for _, day_files in gold.partitions["gold_visitor_media_daily"] for f in day_files]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA gold")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(
        f"CREATE VIEW gold.visitor_media_daily AS SELECT * FROM read_parquet([{listed}], hive_partitioning = false)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-visitor-id-") as tmp:
        path = f"{tmp}/visitor_media_daily.parquet"
        started = time.perf_counter()
        con.execute(
            f"COPY (SELECT activity_date, media_id, visitor_key, {VISITOR_ID_SQL} AS visitor_id, is_identified, plays, "
            "watch_time_seconds, percent_viewed_sum FROM gold.visitor_media_daily ORDER BY activity_date) "
            f"TO '{path}' (FORMAT parquet)"
        )
        build_s = time.perf_counter() - started
        keys, ids = con.execute(
            f"SELECT count(DISTINCT visitor_key), count(DISTINCT visitor_id) FROM read_parquet('{path}')"
        ).fetchone() or (0, 0)
        rows = []
        for name, days in (("30d", 30), ("90d", 90), ("365d", 365), ("all", None)):
            start = gold.first_day if days is None else gold.last_day - timedelta(days=days - 1)
            where = f"FROM read_parquet('{path}') WHERE activity_date BETWEEN ? AND ?"
            out: dict[str, Any] = {"scenario": name}
            for key in ("visitor_key", "visitor_id"):
                top = (
                    f"SELECT {key}, sum(plays) AS plays, sum(watch_time_seconds) AS watch, "
                    f"sum(percent_viewed_sum) / nullif(sum(plays), 0) AS engagement {where} GROUP BY {key} "
                    f"ORDER BY engagement DESC NULLS LAST, plays DESC, watch DESC, {key} LIMIT 25"
                )
                unique = f"SELECT count(DISTINCT {key}) {where}"
                params = [start, gold.last_day]
                con.execute(top, params).fetchall()  # footers read once
                for label, sql in ((f"top_{key}", top), (f"unique_{key}", unique)):
                    run: Callable[[], object] = partial(_fetch, con, sql, params)
                    out[label] = statistics.median(_ms(run) for _ in range(3))
            rows.append(out)
    con.close()
    gold.close()
    return {"build_s": build_s, "distinct_keys": keys, "distinct_ids": ids, "rows": rows}


def child_renders(lake: str) -> list[dict[str, Any]]:
    from streamlit.testing.v1 import AppTest

    from wistia_analytics.dashboard.gold import open_gold
    from wistia_analytics.dashboard.launcher import APP
    from wistia_analytics.lake.storage import Storage

    gold = open_gold(Storage.from_uri(lake), hot="off")  # only to pick medias and a project to select
    medias, project = [m.media_id for m in gold.medias[:2]], gold.projects[0][0]
    gold.close()
    os.environ["LAKE_URI"] = lake
    at = AppTest.from_file(str(APP), default_timeout=120)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("first render (30 days, cold)", lambda: None),
        ("in-memory copy ready", lambda: None),
        ("preset 7 days", lambda: at.button_group(key="range").set_value("7d")),
        ("preset 90 days", lambda: at.button_group(key="range").set_value("90d")),
        ("preset 365 days", lambda: at.button_group(key="range").set_value("365d")),
        ("preset all time", lambda: at.button_group(key="range").set_value("all")),
        ("custom range (last 14 days)", lambda: _custom(at)),
        ("media: 2 selected", lambda: at.multiselect(key="media").set_value(medias)),
        ("media cleared, 1 project selected", lambda: _only(at, "project", [project])),
        ("clear project", lambda: _clear(at, "project")),
        ("channel: facebook", lambda: at.multiselect(key="channel").set_value(["facebook"])),
        ("clear channel", lambda: _clear(at, "channel")),
        ("trend: week", lambda: at.button_group(key="gran").set_value("week")),
        ("trend: engagement", lambda: at.button_group(key="metric").set_value("engagement")),
        ("top visitors: by plays", lambda: at.button_group(key="rank_visitors").set_value("plays")),
        ("top visitors: min plays 2", lambda: at.number_input(key="min_plays").set_value(2)),
        ("top media: 50 rows", lambda: at.selectbox(key="rows_media").set_value(50)),
        ("preset 365 days again", lambda: at.button_group(key="range").set_value("365d")),
        ("custom range (last 200 days)", lambda: _custom(at, 200)),
        ("all time, 1 project", lambda: _all_time(at, "project", [project])),
        ("all time, 1 media", lambda: _only(at, "media", medias[:1])),
        ("all time, 2 medias", lambda: at.multiselect(key="media").set_value(medias)),
        ("all time, channel facebook", lambda: _only_channel(at, "facebook")),
        ("same view again (cached)", lambda: None),
    ]
    out = []
    for name, change in steps:
        change()
        started = time.perf_counter()
        at.run()
        if name == "in-memory copy ready":  # rerun the same view until the page says it reads the copy
            while not any("from the in-memory copy" in c.value for c in at.caption):
                if time.perf_counter() - started > 300:
                    raise RuntimeError("the in-memory copy was not ready after 300 s")
                time.sleep(0.5)
                at.run()
            name = f"same view, in-memory copy ready after {(time.perf_counter() - started):.1f} s"
            started = time.perf_counter()
            at.run()
        total = (time.perf_counter() - started) * 1000
        if at.exception:
            raise RuntimeError(f"{name}: {[e.value for e in at.exception]}")
        queries: dict[str, float] = dict(at.session_state["_query_ms"])
        out.append({"step": name, "total_ms": total, "query_ms": sum(queries.values()), "queries": queries})
    return out


def _custom(at: Any, days: int = 14) -> None:
    at.button_group(key="range").set_value("custom")
    at.run()
    _, end = at.date_input(key="dates").value
    at.date_input(key="dates").set_value((end - timedelta(days=days - 1), end))


def _only(at: Any, key: str, values: list[str]) -> None:
    """Clear the media and project selections and select `values` in the multiselect `key`."""
    _clear(at, "media", "project")
    at.multiselect(key=key).set_value(values)


def _all_time(at: Any, key: str, values: list[str]) -> None:
    """Preset all time, with only `values` selected in the multiselect `key`."""
    at.button_group(key="range").set_value("all")
    _only(at, key, values)


def _only_channel(at: Any, channel: str) -> None:
    _clear(at, "media", "project")
    at.multiselect(key="channel").set_value([channel])


def _clear(at: Any, *keys: str) -> None:
    for key in keys:
        at.multiselect(key=key).set_value([])


def _child(kind: str, lake: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.dashboard_queries", "--child", kind, lake],  # see __main__ below
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- report ---------------------------------------------------------------------------------------------


def _flag(ms: float) -> str:
    return "" if ms < GOAL_MS else "  <-- over 300 ms"


def run() -> None:
    wanted = os.environ.get("WISTIA_BENCH_DASHBOARD_EVENTS", "10000000")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        lake, label = small_gold(Path(tmp)) if wanted == "small" else large_gold(int(wanted))
        print(f"  lake: {label}")
        parquet = _child("parquet", str(lake))
        memory = _child("in-memory", str(lake))
        renders = _child("renders", str(lake))
        proposal = _child("proposal", str(lake))
    sizes = ", ".join(f"{t}={n:,}" for t, n in parquet["sizes"].items())
    print(f"  Gold rows: {sizes}; {parquet['days']} days, {parquet['medias']} medias")
    print(f"  open_gold (catalog, media list, channels; once per Gold version): {parquet['open_ms']:.0f} ms")
    print(f"  trust (lake_status; cached 60 s, refreshed in the background): {parquet['trust_ms']:.0f} ms")
    before, after = memory["rss_mib"]
    print(
        f"  in-memory copy: built in {memory['build_s']:.1f} s (background thread), "
        f"process RSS {before:,} -> {after:,} MiB"
    )
    for queries in (parquet, memory):
        _query_table(queries)
    _render_table(renders)
    _proposal_table(proposal)


def _proposal_table(proposal: dict[str, Any]) -> None:
    print(
        f"\n  proposal, Gold column visitor_id (prototype file written in {proposal['build_s']:.1f} s; "
        f"{proposal['distinct_keys']:,} keys -> {proposal['distinct_ids']:,} ids"
        f"{', no collision' if proposal['distinct_keys'] == proposal['distinct_ids'] else ', COLLISION'}),"
    )
    print("  Parquet path, median of 3 warm, ms:   top visitors key / id    unique visitors key / id")
    for row in proposal["rows"]:
        print(
            f"  {row['scenario']:<6}{row['top_visitor_key']:>32.0f} / {row['top_visitor_id']:<6.0f}"
            f"{row['unique_visitor_key']:>18.0f} / {row['unique_visitor_id']:.0f}"
        )


def _query_table(queries: dict[str, Any]) -> None:
    print(f"\n  query functions on the {queries['mode']} Gold, ms (cold = first call of that shape in a fresh")
    print("  process; warm = median of 5)")
    print(f"  retention_curve: cold {queries['curve'][0]:.1f} ms, warm {queries['curve'][1]:.1f} ms")
    functions = list(dict.fromkeys(r["function"] for r in queries["rows"]))
    header = "  scenario          " + "".join(f"{f[:22]:>24}" for f in functions)
    print(header)
    for scenario in dict.fromkeys(r["scenario"] for r in queries["rows"]):
        cells = {r["function"]: r for r in queries["rows"] if r["scenario"] == scenario}
        line = "".join(f"{cells[f]['cold_ms']:>13.1f} /{cells[f]['warm_ms']:>8.1f}" for f in functions)
        print(f"  {scenario:<16}{line}")
    worst = max(queries["rows"], key=lambda r: r["warm_ms"])
    print(
        f"  slowest warm call: {worst['function']} on '{worst['scenario']}': "
        f"{worst['warm_ms']:.0f} ms{_flag(worst['warm_ms'])}"
    )


def _render_table(renders: list[dict[str, Any]]) -> None:
    print("\n  server-side renders (AppTest, fresh process): whole script run / of which queries, ms")
    for step in renders:
        slowest = max(step["queries"].items(), key=lambda kv: kv[1], default=("-", 0.0))
        print(
            f"  {step['step']:<32} {step['total_ms']:>8.0f} / {step['query_ms']:>7.0f}   "
            f"(slowest: {slowest[0]} {slowest[1]:.0f}){_flag(step['query_ms'])}"
        )
    interactions = renders[2:]
    over = [s["step"] for s in interactions if s["query_ms"] >= GOAL_MS]
    print(
        f"  interactions under {GOAL_MS:.0f} ms of query time: {len(interactions) - len(over)}/{len(interactions)}"
        + (f" (over: {', '.join(over)})" if over else "")
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        kind, lake = sys.argv[2], sys.argv[3]
        if kind == "renders":
            result: Any = child_renders(lake)
        elif kind == "proposal":
            result = child_proposal(lake)
        else:
            result = child_queries(lake, kind)
        print(json.dumps(result, default=str))
    else:
        run()
