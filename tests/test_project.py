"""The project's promises to a newcomer: the README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ci_test_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return next(line for line in lines if line.startswith("python3 -m venv"))


def test_readme_test_command_is_the_one_ci_runs() -> None:
    assert _ci_test_command() in (ROOT / "README.md").read_text()


def test_readme_starts_the_app_with_streamlit_run() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements.txt && .venv/bin/streamlit run streamlit_app.py" in readme


def test_app_requirements_exclude_test_tools_and_torch() -> None:
    app = (ROOT / "requirements.txt").read_text().lower()
    for tool in ("pytest", "hypothesis", "playwright", "ruff", "torch"):
        assert tool not in app


def test_core_never_imports_streamlit() -> None:
    for path in (ROOT / "core").rglob("*.py"):
        assert "import streamlit" not in path.read_text(), path.name


@pytest.mark.slow
def test_readme_python_example_runs() -> None:
    """The README's `core` example is code a newcomer pastes: it must run as written."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README shows core in Python"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
