"""One import run: staging, merging, log records, lineage and rollups, in one transaction."""

from .importer import Importer, ImportSummary, ProgressCallback, SourceReport
from .merge import TableCounts

__all__ = ["ImportSummary", "Importer", "ProgressCallback", "SourceReport", "TableCounts"]
