"""A Spark session behind the small connection surface the reads use (``execute`` returning a
cursor with ``description`` and ``fetchall``), so the same read modules run on Spark SQL.

Our SQL quotes identifiers with double quotes; each statement runs with Spark's ANSI
double-quoted identifiers, in UTC, and the session's settings are put back after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from .._query.dialect import SPARK, Dialect
from ..errors import StorageError

SETTINGS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",  # prices keep 18 decimals, as in DuckDB
}
"""What our statements need of the session; set around each statement, then restored."""


@contextmanager
def our_settings(spark: Any) -> Iterator[None]:
    """The session with :data:`SETTINGS`, restored after."""
    before = {key: spark.conf.get(key, None) for key in SETTINGS}
    for key, value in SETTINGS.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


class SparkCursor:
    """The rows of one statement, collected."""

    def __init__(self, names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        self.description = [(name,) for name in names]
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


def _value(value: object) -> object:
    """A collected value as the DuckDB driver gives it (instants with the UTC zone)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class SparkConnection:
    """Runs our SQL on a Spark session (positional parameters bound as ``:p1``, ``:p2``...)."""

    dialect: Dialect = SPARK

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def frame(self, sql: str, params: Sequence[object] | None = None) -> Any:
        """A DataFrame of ``sql`` (the caller runs it inside :func:`our_settings`)."""
        args = {f"p{i}": v for i, v in enumerate(params or (), start=1)}
        return self.spark.sql(sql, args=args) if args else self.spark.sql(sql)

    def execute(self, sql: str, params: Sequence[object] | None = None) -> SparkCursor:
        from pyspark.errors import PySparkException

        with our_settings(self.spark):
            try:
                frame = self.frame(sql, params)
                rows = frame.collect()
            except PySparkException as e:
                raise StorageError(f"Spark could not run a read: {_first_line(e)}") from e
        return SparkCursor(frame.columns, [tuple(_value(v) for v in row) for row in rows])


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
