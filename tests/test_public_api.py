"""The public surface: __all__ sorted, complete, and nothing private."""

from __future__ import annotations

import inspect

import aibridge_store


def test_all_is_sorted_and_unique() -> None:
    names = [n for n in aibridge_store.__all__ if n != "__version__"]
    assert names == sorted(names) and len(set(names)) == len(names)


def test_everything_in_all_exists_and_nothing_private_is_exported() -> None:
    for name in aibridge_store.__all__:
        assert hasattr(aibridge_store, name), name
        assert not name.startswith("_") or name == "__version__"


def test_every_public_class_and_function_in_the_package_namespace_is_in_all() -> None:
    public = {
        name for name, value in vars(aibridge_store).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public <= set(aibridge_store.__all__)


def test_every_error_descends_from_one_base() -> None:
    from aibridge_store import errors

    classes = [c for c in vars(errors).values() if inspect.isclass(c) and c.__name__.endswith("Error")]
    assert len(classes) >= 8
    assert all(issubclass(c, aibridge_store.AibridgeStoreError) for c in classes)


def test_public_callables_have_docstrings() -> None:
    for name in ("Store", "Actor", "ImportSummary", "InterceptionsPage", "parse_query"):
        assert inspect.getdoc(getattr(aibridge_store, name)), name
    for method in ("open", "import_path", "import_arrow", "list_interceptions", "list_sessions",
                   "get_session_threads", "list_models", "list_clients", "close", "transaction"):
        assert inspect.getdoc(getattr(aibridge_store.Store, method)), method
