"""The wheel ships the grammar: build it, install it into a fresh venv, parse a query."""

from __future__ import annotations

import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_the_grammar(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                   check=True)
    wheel = next((tmp_path / "dist").glob("aibridge_store-*.whl"))
    import zipfile

    assert "aibridge_store/grammar/search.lark" in zipfile.ZipFile(wheel).namelist()
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    # The wheel's dependencies come from this environment; the package itself only from the wheel.
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    (Path(target) / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True)
    code = (
        "import aibridge_store, pathlib; "
        f"assert aibridge_store.__file__.startswith({str(env)!r}), aibridge_store.__file__; "
        "from aibridge_store._query.grammar import grammar_text; "
        "print(aibridge_store.parse_query('model:\"a b\" x'))"
    )
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "KeyTerm(key='model', value='a b'" in out and "BareTerm(raw='x'" in out
