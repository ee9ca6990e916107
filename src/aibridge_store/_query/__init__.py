"""The search language: grammar → syntax tree → filters → SQL. Knows nothing about the store."""

from .ast import And, AtLeast, AtMost, BareTerm, Equals, Glob, KeyTerm, Not, Or, Query, StartsWith
from .compiler import Compiled, Compiler, compile_filters, filter_columns, filter_fields, reads_totals
from .dialect import DIALECTS, DUCKDB, SPARK, SQLITE, Dialect
from .fields import CLIENTS_SEARCH, ENDPOINTS, INTERCEPTIONS_SEARCH, MODELS_SEARCH, SESSIONS_SEARCH, Endpoint
from .filters import BindContext, bind, compile_query_filters
from .help import search_help
from .parser import parse_query

__all__ = [
    "CLIENTS_SEARCH",
    "DIALECTS",
    "DUCKDB",
    "ENDPOINTS",
    "INTERCEPTIONS_SEARCH",
    "MODELS_SEARCH",
    "SESSIONS_SEARCH",
    "SPARK",
    "SQLITE",
    "And",
    "AtLeast",
    "AtMost",
    "BareTerm",
    "BindContext",
    "Compiled",
    "Compiler",
    "Dialect",
    "Endpoint",
    "Equals",
    "Glob",
    "KeyTerm",
    "Not",
    "Or",
    "Query",
    "StartsWith",
    "bind",
    "compile_filters",
    "compile_query_filters",
    "filter_columns",
    "filter_fields",
    "parse_query",
    "reads_totals",
    "search_help",
]
