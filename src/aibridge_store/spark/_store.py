"""Reads over a dataset on Spark: the store's read API, compiled to Spark SQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._auth import Actor, Role
from .._dataset import columns, read_manifest
from .._engines.spark_connection import SparkConnection, our_settings
from .._query import CLIENTS_SEARCH, MODELS_SEARCH
from .._reads.catalog import list_catalog
from .._reads.common import resolve_user
from .._reads.interceptions import list_interceptions
from .._reads.sessions import list_sessions
from .._reads.threads import get_session_threads
from ..errors import NotFoundError, StorageError
from ..models import InterceptionsPage, SessionsPage, SessionThreads
from ._rules import dataset_frame

if TYPE_CHECKING:
    from .._reports import Report, Window
    from .._reports.pricebook import PriceBook


class SparkStore:
    """The store's reads over a dataset (``aibridge-store export-dataset`` or
    :func:`aibridge_store.spark.import_sources`) on a Spark session: the same search language,
    paging and models as :class:`~aibridge_store.Store`, answered by Spark SQL.

    Each table of the dataset becomes a temporary view of the session, named as the store's table.
    Call :meth:`refresh` after the dataset was written again."""

    def __init__(self, spark: Any, path: str | os.PathLike[str]) -> None:
        self.spark = spark
        self.path = Path(path)
        self._con = SparkConnection(spark)
        self._lock = threading.Lock()
        self.manifest: dict[str, Any] = {}
        self._prices: PriceBook | None = None
        self.refresh()

    def refresh(self) -> None:
        """Read the manifest and the dataset's files again."""
        manifest = read_manifest(self.path)
        if manifest is None:
            raise StorageError(f"no dataset at {os.fspath(self.path)!r} (its manifest.json is missing)")
        self.manifest = manifest
        with our_settings(self.spark):
            for table in columns():
                dataset_frame(self.spark, self.path, table).createOrReplaceTempView(table)

    @contextmanager
    def _reading(self) -> Iterator[SparkConnection]:
        with self._lock:
            yield self._con

    def actor(self, user: str | Any, *, role: Role = "member") -> Actor:
        """Who reads: a user of the dataset by id or username, as :meth:`Store.actor`."""
        with self._reading() as con:
            user_id = resolve_user(con, user)
        if user_id is None:
            raise NotFoundError(f"no user named {str(user)!r} in the dataset")
        return Actor(user_id=user_id, role=role)

    def list_interceptions(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, after_id: Any = None,
        actor: Actor | None = None, strict: bool = False,
    ) -> InterceptionsPage:
        """As :meth:`Store.list_interceptions`."""
        with self._reading() as con:
            return list_interceptions(con, q, limit=limit, offset=offset, after_id=after_id, actor=actor,
                                      strict=strict)

    def list_sessions(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0,
        after_session_id: str | None = None, after_initiator_id: Any = None, actor: Actor | None = None,
        strict: bool = False,
    ) -> SessionsPage:
        """As :meth:`Store.list_sessions`, from the session rollup written with the dataset."""
        with self._reading() as con:
            return list_sessions(con, q, limit=limit, offset=offset, after_session_id=after_session_id,
                                 after_initiator_id=after_initiator_id, actor=actor, strict=strict)

    def get_session_threads(
        self, session_id: str, *, after_id: Any = None, before_id: Any = None, limit: int | str | None = None,
        actor: Actor | None = None,
    ) -> SessionThreads:
        """As :meth:`Store.get_session_threads`."""
        with self._reading() as con:
            return get_session_threads(con, session_id, after_id=after_id, before_id=before_id, limit=limit,
                                       actor=actor)

    def list_models(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, actor: Actor | None = None
    ) -> list[str]:
        """As :meth:`Store.list_models`."""
        with self._reading() as con:
            return list_catalog(con, MODELS_SEARCH, q, limit=limit, offset=offset, actor=actor)

    def list_clients(
        self, q: str = "", *, limit: int | str | None = None, offset: int | str = 0, actor: Actor | None = None
    ) -> list[str]:
        """As :meth:`Store.list_clients`."""
        with self._reading() as con:
            return list_catalog(con, CLIENTS_SEARCH, q, limit=limit, offset=offset, actor=actor)

    def load_prices(self, path: str | os.PathLike[str] | None) -> None:
        """As :meth:`Store.load_prices`: your own prices where they apply, genai-prices elsewhere."""
        from .._reports.pricebook import PriceBook

        self._prices = None if path is None else PriceBook.load(path)

    def usage(
        self, q: str = "", *, by: Sequence[str] = (), bucket: str | None = None, tz: str = "UTC",
        since: datetime | str | None = None, until: datetime | str | None = None, actor: Actor | None = None,
        reprice: bool = False, strict: bool = False,
    ) -> Report:
        """As :meth:`Store.usage`: the same figures, computed by Spark over the dataset."""
        from . import _reports as reports

        with self._reading() as con:
            return reports.usage(con, q, by=tuple(by), bucket=bucket, tz=tz, window=_window(since, until),
                                 actor=actor, book=self._prices, reprice=reprice, strict=strict)

    def cost(
        self, q: str = "", *, by: Sequence[str] = ("provider", "model"), bucket: str | None = None, tz: str = "UTC",
        since: datetime | str | None = None, until: datetime | str | None = None, actor: Actor | None = None,
        reprice: bool = False, strict: bool = False,
    ) -> Report:
        """As :meth:`Store.cost`, computed by Spark over the dataset."""
        from . import _reports as reports

        with self._reading() as con:
            return reports.cost(con, q, by=tuple(by), bucket=bucket, tz=tz, window=_window(since, until),
                                actor=actor, book=self._prices, reprice=reprice, strict=strict)

    def sql(self, query: str, params: dict[str, Any] | None = None) -> Any:
        """A Spark DataFrame of ``query`` (Spark SQL) over the dataset's views, named as the store's
        tables. It is parsed as the store's own SQL is: double quotes name identifiers (ANSI), and
        instants are read in UTC; ``params`` bind ``:name`` markers."""
        with our_settings(self.spark):
            return self.spark.sql(query, args=params) if params else self.spark.sql(query)


def _window(since: datetime | str | None, until: datetime | str | None) -> Window:
    from .._reports import Window, moment

    return Window(moment(since, "since"), moment(until, "until"))
