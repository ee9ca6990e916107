"""Test helpers: hand-built rows and exports, log lines, a real PostgreSQL server, an independent rollup."""
