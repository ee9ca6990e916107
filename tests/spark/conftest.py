"""One local Spark session (``local[2]``) for the whole run, small and quiet.

`python3 dev.py test` installs Java when the machine has none and sets ``JAVA_HOME`` and
``PYSPARK_PYTHON``. Without Java the Spark tests fail, unless ``AIBRIDGE_SKIP_SPARK=1`` says to
skip them (they are then reported as skipped, with that reason).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    if os.environ.get("AIBRIDGE_SKIP_SPARK") == "1":
        pytest.skip("AIBRIDGE_SKIP_SPARK=1: no Spark for this run")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("no Java runtime: run the suite with `python3 dev.py test`, which installs one, "
                    "or set AIBRIDGE_SKIP_SPARK=1 to skip these tests")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers import aibridge_store
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("aibridge_store tests")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2").config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g").config("spark.sql.session.timeZone", "America/New_York")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
