"""aibridge_store on Apache Spark: the dataset layout read and written by Spark (README, "Scale out").

* :class:`SparkStore` answers the store's reads over a dataset with Spark SQL;
* :func:`import_sources` imports table exports and coderd logs into a dataset with Spark.

Needs pyspark (``pip install 'aibridge-store[spark]'``) and a Java runtime that Spark supports.
"""

from ._importer import SparkImport, import_sources
from ._rules import sessions_sql
from ._store import SparkStore


def rollup_sql() -> str:
    """Spark SQL computing every session's rollup row from a :class:`SparkStore`'s views (what
    the dataset's ``aibridge_session_rollup`` holds), to compare with reading it, or to check
    it. Run it with :meth:`SparkStore.sql`."""
    return sessions_sql(lambda table: f'"{table}"')


__all__ = ["SparkImport", "SparkStore", "import_sources", "rollup_sql"]
