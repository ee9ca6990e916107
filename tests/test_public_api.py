"""The public surface: __all__ sorted, complete, and nothing private."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

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


PUBLIC_MODULES = {"aibridge_store", "aibridge_store.errors", "aibridge_store.models", "aibridge_store.cli",
                  "aibridge_store.__main__", "aibridge_store.spark"}
"""Every module a user may import; everything else is marked private by a leading underscore."""
ROOT = Path(aibridge_store.__file__).resolve().parent
REPO = ROOT.parents[1]


def _module_names() -> set[str]:
    names = set()
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_is_public_by_decision_or_marked_private() -> None:
    unmarked = {name for name in _module_names()
                if not any(part.startswith("_") and not part.startswith("__") for part in name.split("."))}
    assert unmarked == PUBLIC_MODULES


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in a file; relative imports resolved against the package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = "aibridge_store" + ("." + module if module else "")
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


@pytest.mark.parametrize("path", [ROOT / "cli.py", *sorted((REPO / "benchmarks").glob("*.py"))], ids=lambda p: p.name)
def test_the_command_line_and_the_benchmarks_use_only_the_public_api(path: Path) -> None:
    ours = [(module, names) for module, names in _imports(path) if module.split(".")[0] == "aibridge_store"]
    assert {module for module, _ in ours} <= PUBLIC_MODULES
    for module, names in ours:
        exported = getattr(importlib.import_module(module), "__all__", None)
        assert exported is not None, f"{module} declares no __all__"
        assert set(names) <= set(exported), f"{path.name} imports private names from {module}"
