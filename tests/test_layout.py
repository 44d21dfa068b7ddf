"""The house stays in order: each part of the book in a small module that says what it
holds, and the models depend on nothing that sends mail."""

import ast
import inspect
from pathlib import Path

import grants
from grants.models import Grant

APP = Path(grants.__file__).parent
MODULES = sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)


def test_no_module_of_the_app_is_longer_than_800_lines():
    long = {
        str(p.relative_to(APP)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 800
    }
    assert long == {}


def test_the_grant_class_stays_under_500_lines():
    assert len(inspect.getsource(Grant).splitlines()) < 500


def test_every_module_opens_with_a_docstring():
    missing = [
        str(p.relative_to(APP)) for p in MODULES if not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert missing == []


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_models_do_not_import_what_sends_mail():
    for path in (APP / "models").glob("*.py"):
        imported = imported_modules(path)
        assert "grants.notifications" not in imported, path.name
        assert not any(
            name.startswith("grants.portal") or name.startswith("grants.admin") for name in imported
        ), path.name
