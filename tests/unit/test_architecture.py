"""The house by method, checked from the source: layers only import downward, no import cycles, the
layer-range rule written once, small backend files, and the UI/backend boundary."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "interp_core"
MAX_LINES = 300
METHOD_ROOMS = ("lens", "neurons", "distributions", "ablation", "patching", "components", "lessons")
# a module may import only from its own layer or lower ones
LAYERS = {
    "base": 0,  # errors, settings, results, budgets, paths
    "engine": 1,
    "data": 2,
    "method": 3,
    "plots": 4,
    "cli": 5,
}


def _layer(module: str) -> int:
    parts = module.split(".")
    if module in ("interp_core", "interp_core.__main__"):
        return max(LAYERS.values()) + 1  # the package facade and `python -m` sit on top of everything
    if len(parts) < 2:
        return LAYERS["base"]
    head = parts[1]
    if head in ("engine", "data", "plots", "cli"):
        return LAYERS[head]
    if head in METHOD_ROOMS:
        return LAYERS["method"]
    return LAYERS["base"]


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _top_level_imports(path: Path) -> list[str]:
    """interp_core modules imported at module level (not inside functions or `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("interp_core"):
            out.append(node.module)
            for a in node.names:  # `from interp_core.engine import embedded` imports a module
                if (ROOT / (node.module.replace(".", "/") + f"/{a.name}.py")).exists():
                    out.append(f"{node.module}.{a.name}")
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("interp_core")]
    return out


def _all_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


BACKEND = sorted(PKG.rglob("*.py"))


def test_sources_found():
    assert len(BACKEND) > 30 and (PKG / "engine" / "sites.py") in BACKEND


def test_tests_and_bench_never_edit_sys_path():
    """The package is installed (pip install -e .) and pytest.ini's pythonpath covers tests/; bench scripts run from
    the checkout or with PYTHONPATH (bench/device_run.sh)."""
    edits = [str(p.relative_to(ROOT)) for folder in ("tests", "bench") for p in (ROOT / folder).rglob("*.py")
             if re.search(r"sys\.path\.(insert|append)", p.read_text()) and p.name != "test_architecture.py"]
    assert not edits, f"sys.path edited in {edits}"


def test_no_import_runs_back_up_a_layer():
    bad = []
    for p in BACKEND:
        me = _module_name(p)
        for mod in _top_level_imports(p):
            if _layer(mod) > _layer(me):
                bad.append(f"{me} imports {mod}")
    assert not bad, "imports against the layering: " + "; ".join(bad)


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for p in BACKEND:
        graph[_module_name(p)] = {m for m in _top_level_imports(p)}
    known = set(graph)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in known:
                continue
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, stack + [nxt]):
                return True
        state[node] = 2
        return False

    for n in sorted(graph):
        if state.get(n) is None and visit(n, [n]):
            break
    # a package __init__ importing its own submodules is not a cycle when the submodule does not import back
    assert not cycle, " -> ".join(cycle)


def test_backend_files_stay_small():
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in BACKEND
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not big, f"backend files over {MAX_LINES} lines: {big}"


def test_layer_range_rule_is_written_once():
    """"resid has n_layers + 1 layers, every other site n_layers" lives in engine/sites.py only."""
    rule = re.compile(r"n_layers\s*[+-]\s*1(?!\d)|n_layers if .*resid|resid.* else .*n_layers")
    bad = []
    for p in [*BACKEND, *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]:
        if p == PKG / "engine" / "sites.py":
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if rule.search(code) and '"""' not in code:
                bad.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not bad, "layer ranges computed outside engine/sites.py: " + "; ".join(bad)


def test_backend_never_imports_streamlit():
    bad = [str(p.relative_to(ROOT)) for p in BACKEND if any(m.split(".")[0] == "streamlit" for m in _all_imports(p))]
    assert not bad


@pytest.mark.parametrize("folder", ["pages", "ui"])
def test_ui_never_imports_torch_or_transformers(folder):
    files = [*(ROOT / folder).rglob("*.py")] + ([ROOT / "app.py"] if folder == "pages" else [])
    bad = [str(p.relative_to(ROOT)) for p in files
           if any(m.split(".")[0] in ("torch", "transformers") for m in _all_imports(p))]
    assert not bad


def test_one_hook_entry_point():
    """Only the hook engine registers forward hooks on the model."""
    bad = []
    for p in BACKEND:
        if p.parent.name == "engine" and p.name in ("hooks.py",):
            continue
        text = p.read_text(encoding="utf-8")
        if re.search(r"register_forward(_pre)?_hook\(", text):
            bad.append(str(p.relative_to(ROOT)))
    assert not bad, f"hooks registered outside engine/hooks.py: {bad}"


PUBLIC_FOR_PAGES = re.compile(
    r"^interp_core(\.(lens|neurons|distributions|ablation|patching|components|lessons|data|results|budgets|settings|errors"
    r"|estimates)|\.engine\.sites|\.plots\.\w+)?$")


def test_pages_call_only_the_public_api():
    """Pages import the facade, the rooms' packages, the site vocabulary and the plots: never a room's internals."""
    bad = []
    for p in [*(ROOT / "pages").glob("*.py"), ROOT / "app.py"]:
        for m in _all_imports(p):
            if m.startswith("interp_core") and not PUBLIC_FOR_PAGES.match(m):
                bad.append(f"{p.relative_to(ROOT)}: {m}")
    assert not bad, bad
