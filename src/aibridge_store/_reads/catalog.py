"""``GET /api/v2/aibridge/models`` and ``/clients`` (docs/semantics.md, "Models and clients";
docs/decisions.md, "Clients", "Empty lists" and "Catalog prefixes").

Both read the catalog of distinct models and clients of ended interceptions (kept per initiator,
so a member's list holds only their own). The prefix match takes ``%`` and ``_`` literally.
"""

from __future__ import annotations

from .._auth import LOCAL_ADMIN, Actor
from .._query import CLIENTS_SEARCH, MODELS_SEARCH, Endpoint
from .._schema import CATALOG, ident
from .common import Connection, bind_filters, compiler_for
from .pagination import parse_page

_KINDS = {MODELS_SEARCH.name: ("model", "model"), CLIENTS_SEARCH.name: ("client", "client")}


def list_catalog(
    con: Connection,
    endpoint: Endpoint,
    q: str,
    *,
    limit: int | str | None,
    offset: int | str | None,
    actor: Actor | None,
) -> list[str]:
    """Distinct values in byte order, ``[]`` when nothing matches."""
    actor = actor or LOCAL_ADMIN
    page = parse_page(limit, offset, None)
    filters = bind_filters(con, actor, q, endpoint)
    kind, column = _KINDS[endpoint.name]
    compiler = compiler_for(con, table_alias="c")
    entries = (f'(SELECT "value" AS {ident(column)}, "initiator_id" FROM {ident(CATALOG)} '
               f"WHERE \"kind\" = {compiler.param(kind)})")
    sql = (f"SELECT DISTINCT c.{ident(column)} FROM {entries} AS c WHERE {compiler.compile(filters)} "
           f"ORDER BY c.{ident(column)} LIMIT {compiler.param(page.limit)} OFFSET {compiler.param(page.offset)}")
    return [row[0] for row in con.execute(sql, compiler.params).fetchall()]
