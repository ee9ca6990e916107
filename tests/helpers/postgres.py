"""A real PostgreSQL server for the live-database import tests, with Coder's table layout.

``python3 dev.py test`` installs Debian's ``postgresql`` package when it is missing, starts a
cluster and exports ``AIBRIDGE_TEST_POSTGRES`` (a connection string for a superuser). Each test
gets a fresh database. Without that variable the tests fail, unless ``AIBRIDGE_SKIP_POSTGRES=1``
says to skip them (and they are then reported as skipped, with that reason).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

# Coder's seed-era tables (coderd/database/dump.sql), with a newer column it added later
# (error_type) so that the importer must pick its columns by name.
CODER_DDL = """
CREATE TYPE credential_kind AS ENUM ('centralized', 'byok');
CREATE TABLE users (
    id uuid PRIMARY KEY, email text NOT NULL, username text NOT NULL, hashed_password bytea NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'active', rbac_roles text[] NOT NULL DEFAULT '{}', login_type text NOT NULL DEFAULT 'password',
    avatar_url text NOT NULL DEFAULT '', deleted boolean NOT NULL DEFAULT false, last_seen_at timestamp NOT NULL DEFAULT now(),
    name text NOT NULL DEFAULT ''
);
CREATE TABLE aibridge_interceptions (
    id uuid PRIMARY KEY, initiator_id uuid NOT NULL, provider text NOT NULL, model text NOT NULL,
    started_at timestamptz NOT NULL, metadata jsonb, ended_at timestamptz, api_key_id text,
    client varchar(64) DEFAULT 'Unknown', thread_parent_id uuid, thread_root_id uuid,
    client_session_id varchar(256),
    session_id text NOT NULL GENERATED ALWAYS AS (COALESCE(client_session_id, (thread_root_id)::text, (id)::text)) STORED,
    provider_name text NOT NULL DEFAULT '', credential_kind credential_kind NOT NULL DEFAULT 'centralized',
    credential_hint varchar(15) NOT NULL DEFAULT '', error_type text
);
CREATE TABLE aibridge_token_usages (
    id uuid PRIMARY KEY, interception_id uuid NOT NULL, provider_response_id text NOT NULL,
    input_tokens bigint NOT NULL, output_tokens bigint NOT NULL, metadata jsonb, created_at timestamptz NOT NULL,
    cache_read_input_tokens bigint NOT NULL DEFAULT 0, cache_write_input_tokens bigint NOT NULL DEFAULT 0
);
CREATE TABLE aibridge_user_prompts (
    id uuid PRIMARY KEY, interception_id uuid NOT NULL, provider_response_id text NOT NULL, prompt text NOT NULL,
    metadata jsonb, created_at timestamptz NOT NULL
);
CREATE TABLE aibridge_tool_usages (
    id uuid PRIMARY KEY, interception_id uuid NOT NULL, provider_response_id text NOT NULL, server_url text,
    tool text NOT NULL, input text NOT NULL, injected boolean NOT NULL DEFAULT false, invocation_error text,
    metadata jsonb, created_at timestamptz NOT NULL, provider_tool_call_id text, provider_item_id text
);
CREATE TABLE aibridge_model_thoughts (
    interception_id uuid NOT NULL, content text NOT NULL, metadata jsonb, created_at timestamptz NOT NULL
);
"""


def server_url() -> str:
    url = os.environ.get("AIBRIDGE_TEST_POSTGRES")
    if url:
        return url
    if os.environ.get("AIBRIDGE_SKIP_POSTGRES") == "1":
        pytest.skip("AIBRIDGE_SKIP_POSTGRES=1: no PostgreSQL server for this run")
    pytest.fail(
        "AIBRIDGE_TEST_POSTGRES is not set: run the suite with `python3 dev.py test`, which installs and starts "
        "PostgreSQL, or set AIBRIDGE_SKIP_POSTGRES=1 to skip these tests"
    )


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def execute(url: str, *statements: str, parameters: tuple[object, ...] | None = None) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url, autocommit=True) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement, parameters)


def fetch(url: str, sql: str) -> list[tuple[object, ...]]:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.fixture
def coder_db() -> Iterator[str]:
    """A fresh database with Coder's tables; yields its connection string."""
    url = server_url()
    name = "aibridge_test_" + uuid.uuid4().hex[:12]
    execute(url, f"CREATE DATABASE {name}")
    db = _with_database(url, name)
    try:
        execute(db, *[statement for statement in CODER_DDL.split(";") if statement.strip()])
        yield db
    finally:
        execute(url, f"DROP DATABASE {name} WITH (FORCE)")
