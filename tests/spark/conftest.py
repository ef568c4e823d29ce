"""One local Spark session for the whole test run (starting the JVM costs seconds), configured like Glue's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """local[2], 4 shuffle partitions; every SparkEngine in the tests shares it (it never stops it)."""
    from wistia_analytics.transform.spark_engine import local_session

    session = local_session(cores="2", shuffle_partitions=4, app_name="wistia-analytics-tests", small_data=True)
    try:
        yield session
    finally:
        session.stop()
