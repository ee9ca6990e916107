"""aibridge_store on Apache Spark: the dataset layout read and written by Spark (README, "Scale out").

* :class:`SparkStore` answers the store's reads over a dataset with Spark SQL;
* :func:`import_sources` imports table exports and coderd logs into a dataset with Spark.

Needs pyspark (``pip install 'aibridge-store[spark]'``) and a Java runtime that Spark supports.
"""

from ._importer import SparkImport, import_sources
from ._store import SparkStore

__all__ = ["SparkImport", "SparkStore", "import_sources"]
