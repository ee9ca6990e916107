"""The search language: grammar → syntax tree → filters → SQL. Knows nothing about the store."""

from .ast import And, AtLeast, AtMost, BareTerm, Equals, KeyTerm, Query, StartsWith
from .compiler import Compiled, Compiler, compile_filters
from .dialect import DIALECTS, DUCKDB, SPARK, SQLITE, Dialect
from .fields import CLIENTS, ENDPOINTS, INTERCEPTIONS, MODELS, SESSIONS, Endpoint
from .filters import BindContext, bind, compile_query_filters, parse_go_uuid
from .parser import parse_query

__all__ = [
    "CLIENTS",
    "DIALECTS",
    "DUCKDB",
    "ENDPOINTS",
    "INTERCEPTIONS",
    "MODELS",
    "SESSIONS",
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
    "KeyTerm",
    "Query",
    "StartsWith",
    "bind",
    "compile_filters",
    "compile_query_filters",
    "parse_go_uuid",
    "parse_query",
]
