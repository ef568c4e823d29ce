"""Text from the API is printed as it is, never read as Rich markup (`[/bold]x` once crashed the summary).

The ingest and transform summaries with hostile text in every text cell, then the real CLI (`query`, `status`,
`transform`) on a lake whose media, project and visitor names, and whose folder name, are markup.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from tests.commands.test_cli_pipeline import cli
from tests.dashboard.conftest import build_hostile_lake
from wistia_analytics.commands.console import simple_table, summary_table
from wistia_analytics.commands.query import record_tables, result_table
from wistia_analytics.commands.status import print_report
from wistia_analytics.commands.transform import transform_table
from wistia_analytics.ingest.ingestor import IngestResult
from wistia_analytics.ingest.progress import StreamReport
from wistia_analytics.lake.runs import RunStatus
from wistia_analytics.quality.checks import CheckResult
from wistia_analytics.transform.build import ModelReport, TransformResult

HOSTILE = ("[/bold]x", "[red]", "[link=http://x]y[/link]", ":smile:")
NAME = " ".join(HOSTILE)


def rendered(*renderables: object) -> str:
    out = io.StringIO()
    console = Console(file=out, width=400, color_system=None, emoji=True)
    for renderable in renderables:
        console.print(renderable)
    return out.getvalue()


def assert_literal(text: str) -> None:
    for hostile in HOSTILE:
        assert hostile in text, (hostile, text)


def test_the_ingest_summary_prints_hostile_text_literally() -> None:
    report = StreamReport(name=NAME, status="[/bold]x", windows=list(HOSTILE))
    result = IngestResult("[/bold]run", RunStatus.PARTIAL, 3, {NAME: report}, None)
    assert_literal(rendered(summary_table(result, None, 1.0)))


def test_the_transform_table_prints_hostile_text_literally() -> None:
    model = ModelReport(NAME, rows=1, checks=[CheckResult(NAME, 1)])
    result = TransformResult("r", "full", RunStatus.FAILED, [model], {}, 0, 1.0)
    assert_literal(rendered(transform_table(result)))


def test_query_tables_and_simple_tables_print_hostile_text_literally() -> None:
    rows = [(NAME, NAME)]
    assert_literal(rendered(result_table([NAME, "b"], rows)))
    assert_literal(rendered(*record_tables([NAME, "b"], rows)))
    assert_literal(rendered(simple_table(NAME, [NAME], [[NAME]])))


def test_the_status_report_prints_hostile_text_literally() -> None:
    run = {"run_id": NAME, "command": NAME, "status": NAME, "started_at": NAME, "records": 1, "requests": 1}
    doc = {
        "lake": NAME,
        "runs": [{**run, "errors": 0}],
        "watermarks": {NAME: NAME},
        "tables": {NAME: {"rows": 1, "version": NAME, "published_at": NAME}},
        "quarantine": {NAME: 1},
    }
    out = io.StringIO()
    print_report(doc, Console(file=out, width=400, color_system=None))
    assert_literal(out.getvalue())


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile lake in a folder whose name is markup too."""
    path = tmp_path_factory.mktemp("hostile") / "[red]lake[/bold]"
    build_hostile_lake(path, NAME)
    return path


@pytest.mark.parametrize("wide", [False, True])  # one table, then one small table per row (too wide to fit)
def test_query_prints_hostile_names_from_the_lake(lake: Path, wide: bool) -> None:
    columns = "*" if wide else "media_name, project_name"
    out = cli(lake, "query", f"select {columns} from gold.media_daily where media_id = 'm1aaaaaaaa' limit 1")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert ("too wide" in out.stdout) == wide
    assert_literal(out.stdout.replace("\n", " "))
    as_json = cli(lake, "query", "select distinct visitor_name from gold.visitor_media_daily", "--format", "json")
    assert {"visitor_name": NAME} in json.loads(as_json.stdout)


def test_status_and_transform_print_a_markup_lake_path_literally(lake: Path) -> None:
    status = cli(lake, "status")
    assert status.returncode == 0, status.stderr
    assert "[red]lake[/bold]" in status.stdout
    transform = cli(lake, "transform", "--full-rebuild")
    assert transform.returncode == 0, transform.stderr
    assert "Traceback" not in transform.stderr
