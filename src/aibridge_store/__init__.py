"""aibridge_store: fast, exact answers about Coder AI Bridge data, embedded in Python.

Open a :class:`Store`, import exports with :meth:`Store.import_path` or :meth:`Store.import_arrow`,
and read them back as Coder's API would answer with :meth:`Store.list_interceptions`,
:meth:`Store.list_sessions`, :meth:`Store.get_session_threads`, :meth:`Store.list_models` and
:meth:`Store.list_clients`.
"""

from ._auth import Actor
from ._ingest.postgres import DATABASE_SCHEMES
from ._load import ImportSummary, TableCounts
from ._query import parse_query
from ._store import Store
from .errors import (
    AibridgeStoreError,
    ImportDataError,
    NotFoundError,
    PaginationError,
    QueryError,
    QuerySyntaxError,
    QueryValidationError,
    SchemaVersionError,
    StorageError,
    Validation,
)
from .models import (
    AgenticAction,
    Interception,
    InterceptionsPage,
    MinimalUser,
    Session,
    SessionsPage,
    SessionThreads,
    Thinking,
    Thread,
    TokenUsage,
    TokenUsageSummary,
    TokenUsageTotals,
    ToolCall,
    ToolUsage,
    UserPrompt,
)

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AgenticAction",
    "AibridgeStoreError",
    "DATABASE_SCHEMES",
    "ImportDataError",
    "ImportSummary",
    "Interception",
    "InterceptionsPage",
    "MinimalUser",
    "NotFoundError",
    "PaginationError",
    "QueryError",
    "QuerySyntaxError",
    "QueryValidationError",
    "SchemaVersionError",
    "Session",
    "SessionThreads",
    "SessionsPage",
    "StorageError",
    "Store",
    "TableCounts",
    "Thinking",
    "Thread",
    "TokenUsage",
    "TokenUsageSummary",
    "TokenUsageTotals",
    "ToolCall",
    "ToolUsage",
    "UserPrompt",
    "Validation",
    "__version__",
    "parse_query",
]
