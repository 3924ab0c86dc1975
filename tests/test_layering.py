"""The statistics stay a layer a newcomer can change on its own: they import no model
code (torch, timm, the registry); and no module of the project imports, directly or
through others, a module that imports it (no import cycles, at the top of a module or
inside a function)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from analysis.paths import PROJECT_ROOT

STATISTICS = ("metrics", "bootstrap", "power", "calibration", "diversity", "ensembles", "fit_gate")
PACKAGE = PROJECT_ROOT / "analysis"


def test_statistics_import_no_model_code():
    """In a fresh interpreter, importing every statistics module loads neither torch, timm
    nor anything of analysis.models or analysis.run."""
    modules = ", ".join(f"analysis.evaluation.{name}" for name in STATISTICS)
    code = (f"import sys, {modules}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'timm')"
            " or m.startswith(('analysis.models', 'analysis.run', 'analysis.training'))))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert found.stdout.strip() == "[]", found.stdout


def test_the_registry_and_the_study_import_no_pytorch():
    """The chapters, the results stage and the command line read the model registry and the
    study without importing torch, timm or torchvision (seconds of a chapter's start);
    building a model imports them."""
    code = ("import sys, analysis.models, analysis.evaluation.study, analysis.book.tables, analysis.cli\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'timm', 'torchvision'}))\n"
            "from analysis.profiles import get_profile\n"
            "analysis.models.create_model('autoencoder', get_profile('cpu'))\n"
            "print('torch' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert found.stdout.split() == ["[]", "True"], found.stdout


def imports_of(path: Path) -> set[str]:
    """Every ``analysis`` module a file imports, at the top or inside a function (``from
    package import name`` counts as importing ``package`` and, if it is one, ``package.name``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "analysis":
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "analysis")
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}
    # a package's __init__ re-exports its modules: importing one of them is not a cycle through it
    return {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                path = [*trail, name]
                return [*path[path.index(dep):], dep]
            found = visit(dep, [*trail, name]) if dep not in state else None
            if found:
                return found
        state[name] = "done"
        return None

    for name in sorted(graph):
        found = visit(name, []) if name not in state else None
        if found:
            return found
    return None


def test_the_project_has_no_import_cycles():
    cycle = cycle_in(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import():
    """The check itself: the graph of a cycle like the one between the models package and
    the profiles (one side imports inside a function) is found; a chain is not."""
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    graph = import_graph()
    assert "analysis.models" in graph["analysis.profiles"]  # a profile reads the registry's variants
    assert "analysis.profiles" not in graph["analysis.models"]  # the registry takes profile objects
