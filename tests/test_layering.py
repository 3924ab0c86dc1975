"""The statistics stay a layer a newcomer can change on its own: they import no model
code (torch, timm, the registry), and the evaluation package has no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from analysis.paths import PROJECT_ROOT

STATISTICS = ("metrics", "bootstrap", "power", "calibration", "diversity", "ensembles", "fit_gate")
EVALUATION = PROJECT_ROOT / "analysis" / "evaluation"


def test_statistics_import_no_model_code():
    """In a fresh interpreter, importing every statistics module loads neither torch, timm
    nor anything of analysis.models or analysis.run."""
    modules = ", ".join(f"analysis.evaluation.{name}" for name in STATISTICS)
    code = (f"import sys, {modules}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'timm')"
            " or m.startswith(('analysis.models', 'analysis.run', 'analysis.training'))))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert found.stdout.strip() == "[]", found.stdout


def imports_of(path: Path) -> set[str]:
    """Every ``analysis.evaluation`` module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analysis.evaluation"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("analysis.evaluation"))
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_evaluation_package_has_no_import_cycles():
    files = {module_name(p): p for p in EVALUATION.rglob("*.py")}
    graph = {name: {m for m in imports_of(path) if m in files and m != name} for name, path in files.items()}
    # a package's __init__ re-exports its modules: importing one of them is not a cycle through it
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            assert state.get(dep) != "open", "import cycle: " + " -> ".join([*trail, name, dep])
            if dep not in state:
                visit(dep, [*trail, name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
