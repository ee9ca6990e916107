"""aibridge_store: Coder AI Bridge data in an embedded DuckDB store."""
from .store import Store
