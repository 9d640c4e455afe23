"""The architecture holds: layers import one way (the import-linter contracts in pyproject.toml),
and no module hides an import of ours inside a function, where a cycle would go unseen."""
from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "expertpool"
#: where importing our own modules inside functions is the point: the CLI loads a command's
#: services only when it runs (`expertpool --help` stays fast), and `open_store` loads only the
#: backend asked for (the Elasticsearch client is heavy)
LAZY_ALLOWED = ("cli/", "stores/__init__.py")


def test_import_contracts_are_kept():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _function_imports(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("expertpool"):
                found.append(f"{path.relative_to(root)}:{inner.lineno} {inner.module}")
            elif isinstance(inner, ast.Import):
                found += [f"{path.relative_to(root)}:{inner.lineno} {a.name}" for a in inner.names
                          if a.name.startswith("expertpool")]
    return found


def test_no_hidden_imports_of_our_own_modules():
    hidden = [line for path in sorted(PACKAGE.rglob("*.py"))
              if not str(path.relative_to(PACKAGE)).startswith(LAZY_ALLOWED)
              for line in _function_imports(path)]
    assert hidden == []


def test_the_checker_finds_a_hidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import expertpool.errors\n\n\ndef f():\n    from expertpool.services import panels\n"
                      "    import expertpool.cache.snapshot\n    import json\n", encoding="utf-8")
    assert _function_imports(module, tmp_path) == ["m.py:5 expertpool.services", "m.py:6 expertpool.cache.snapshot"]


def test_docs_architecture_names_every_package_and_module():
    """docs/architecture.md has a paragraph per package; a new one must be placed there too."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert [p for p in packages if f"**`{p}/`**" not in text] == []
    assert [m for m in modules if f"`{m}" not in text] == []
    for package in packages:   # and every module of each package is named in its paragraph's text
        names = [p.stem for p in (PACKAGE / package).rglob("*.py") if p.stem != "__init__"]
        assert [n for n in names if f"`{n}`" not in text and f"`{n}/`" not in text and f"`{n}." not in text] == [], package
