"""aibridge_store: fast, exact answers about Coder AI Bridge data, embedded in Python.

Open a :class:`Store`, import exports with :meth:`Store.import_path` or :meth:`Store.import_arrow`,
and read them back as Coder's API would answer with :meth:`Store.list_interceptions`,
:meth:`Store.list_sessions`, :meth:`Store.get_session_threads`, :meth:`Store.list_models` and
:meth:`Store.list_clients`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (
    AibridgeStoreError,
    ImportDataError,
    NotFoundError,
    PaginationError,
    QueryError,
    QuerySyntaxError,
    QueryValidationError,
    ReportError,
    SchemaVersionError,
    SqlError,
    StorageError,
    Validation,
)

if TYPE_CHECKING:
    from ._auth import Actor
    from ._dataset import DatasetExport
    from ._gocompat import go_time_text
    from ._load import ImportSummary, TableCounts
    from ._query import parse_query, search_help
    from ._reports import Report, write_rows
    from ._schema import DATABASE_SCHEMES
    from ._store import Store
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

_MODELS = (
    "AgenticAction", "Interception", "InterceptionsPage", "MinimalUser", "Session", "SessionsPage", "SessionThreads",
    "Thinking", "Thread", "TokenUsage", "TokenUsageSummary", "TokenUsageTotals", "ToolCall", "ToolUsage",
    "UserPrompt",
)
_LAZY = {
    "Actor": "._auth",
    "DatasetExport": "._dataset",
    "DATABASE_SCHEMES": "._schema",
    "ImportSummary": "._load",
    "Report": "._reports",
    "write_rows": "._reports",
    "Store": "._store",
    "TableCounts": "._load",
    "go_time_text": "._gocompat",
    "parse_query": "._query",
    "search_help": "._query",
    **{name: ".models" for name in _MODELS},
}
"""Where each public name lives. They load on first use, so that a program (the command line's
``--help``, a read that needs no Arrow) pays only for the modules it uses."""


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AgenticAction",
    "AibridgeStoreError",
    "DATABASE_SCHEMES",
    "DatasetExport",
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
    "Report",
    "ReportError",
    "SchemaVersionError",
    "Session",
    "SessionThreads",
    "SessionsPage",
    "SqlError",
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
    "go_time_text",
    "parse_query",
    "search_help",
    "write_rows",
]
