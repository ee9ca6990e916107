"""Reports over the store: usage, tools, sessions and users, as Arrow tables; exports to files."""

from .export import FORMATS, write_batches, write_rows, write_table, write_text
from .report import Report
from .usage import Window, cost, moment, session_costs, sessions, tools, usage, users

__all__ = ["FORMATS", "Report", "Window", "cost", "moment", "session_costs", "sessions", "tools", "usage", "users",
           "write_batches", "write_rows", "write_table", "write_text"]
