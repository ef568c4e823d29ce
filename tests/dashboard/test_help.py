"""The dashboard's KPI definitions are docs/metrics.md, word for word."""

from __future__ import annotations

import shutil
from pathlib import Path

from wistia_analytics.dashboard import help as kpi_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_generated_text_is_docs_metrics_md() -> None:
    assert DOC.read_text(encoding="utf-8") == kpi_doc.METRICS_MD, (
        "docs/metrics.md changed: run `.venv/bin/python -m wistia_analytics.dashboard.help` to regenerate"
    )


def test_regenerating_is_a_no_op_and_rewrites_a_stale_copy(tmp_path: Path) -> None:
    module = tmp_path / "help.py"
    shutil.copy(kpi_doc.__file__, module)
    assert kpi_doc.regenerate(DOC, module) is False
    doc = tmp_path / "metrics.md"
    doc.write_text(DOC.read_text(encoding="utf-8") + "\nOne more line with \"quotes\", 'apostrophes' and a \\.\n")
    assert kpi_doc.regenerate(doc, module) is True
    namespace: dict[str, object] = {}
    exec(compile(module.read_text(encoding="utf-8"), str(module), "exec"), namespace)
    assert namespace["METRICS_MD"] == doc.read_text(encoding="utf-8")


def _doc_rows(heading: str) -> list[list[str]]:
    """The table under `## heading` in docs/metrics.md, parsed independently of the module."""
    lines = DOC.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1].splitlines()
    table = [line for line in lines[: next(i for i, line in enumerate(lines) if line.startswith("## "))]]
    rows = [line for line in table if line.startswith("|")][2:]
    return [[cell.strip() for cell in row.strip().strip("|").split(" | ")] for row in rows]


def test_every_kpi_tooltip_quotes_its_definition_and_aggregation() -> None:
    definitions = {row[0].strip("*"): row for row in _doc_rows("KPIs")}
    aggregations = _doc_rows("Over a date range and a media selection")
    assert set(kpi_doc.KPI_NAMES.values()) == set(definitions)
    for key, name in kpi_doc.KPI_NAMES.items():
        text = kpi_doc.kpi_help(key)
        _, definition, column, source = definitions[name]
        assert definition in text and column in text and source in text, key
        over_range = next(row[1] for row in aggregations if name in row[0])
        assert over_range in text, key


def test_sections_are_verbatim() -> None:
    body = kpi_doc.section("Where a filter cannot apply")
    assert body in DOC.read_text(encoding="utf-8")
    assert body.startswith("- Loads, Play Rate and the official Plays and Watch Time exist per media and day only")
