"""The house by method, checked from the source: layers only import downward, no import cycles (imports inside
functions included), the layer-range rule written once, small backend files, and the UI/backend boundary."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "interp_core"
MAX_LINES = 300
METHOD_ROOMS = ("lens", "neurons", "distributions", "ablation", "patching", "components", "features",
                "flow", "lessons")
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


def _imports(path: Path) -> set[str]:
    """First-party and other modules imported anywhere in `path` (inside functions too; relative imports resolved;
    `if TYPE_CHECKING:` blocks left out: annotations run nothing)."""
    me = _module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for n in child.orelse:
                    visit_one(n)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module or ""
            out.add(base)
            for a in node.names:  # `from ui.jobs import lens` / `from . import cache` import modules
                if (ROOT / (f"{base}.{a.name}".replace(".", "/") + ".py")).exists():
                    out.add(f"{base}.{a.name}")
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (module -> modules it imports), or []."""
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None and (found := visit(nxt, stack + [nxt])):
                return found
        state[node] = 2
        return []

    for n in sorted(graph):
        if state.get(n) is None and (found := visit(n, [n])):
            return found
    return []


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
    """Imports inside functions count: a lazy import is still a dependency."""
    graph = {_module_name(p): {m for m in _imports(p) if m.startswith("interp_core")} for p in BACKEND}
    assert not _cycle(graph), " -> ".join(_cycle(graph))


def test_no_function_level_import_runs_back_up_a_layer():
    bad = [f"{_module_name(p)} imports {m}" for p in BACKEND for m in _imports(p)
           if m.startswith("interp_core") and _layer(m) > _layer(_module_name(p))]
    assert not bad, "imports against the layering: " + "; ".join(bad)


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
    r"^interp_core(\.(lens|neurons|distributions|ablation|patching|components|flow|lessons|data|results|budgets|settings|errors"
    r"|estimates)|\.engine\.sites|\.plots\.\w+)?$")


def test_pages_call_only_the_public_api():
    """Pages import the facade, the rooms' packages, the site vocabulary and the plots: never a room's internals."""
    bad = []
    for p in [*(ROOT / "pages").glob("*.py"), ROOT / "app.py"]:
        for m in _all_imports(p):
            if m.startswith("interp_core") and not PUBLIC_FOR_PAGES.match(m):
                bad.append(f"{p.relative_to(ROOT)}: {m}")
    assert not bad, bad


# --- ui/: pages -> sections -> runner -> cache -> warm-up -> jobs / store -> interp_core ------------------------
UI = sorted((ROOT / "ui").rglob("*.py"))
# the rank of each ui module: a module imports only ui modules of a lower rank (a family imports itself freely)
UI_RANKS = {
    "ui.store": 0, "ui.jobs": 0,  # Streamlit-free data: keys, compute, cost; the results store
    "ui.rooms": 0, "ui.qr": 0,  # Streamlit-free: the workshop rooms' registry, the room link's QR code
    "ui.costs": 1, "ui.warmup": 1,
    "ui.cache": 2, "ui.errors": 2, "ui.state": 2, "ui.downloads": 2, "ui.navigation": 2, "ui.server_stats": 2,
    "ui.room_state": 2,
    "ui.runner": 3, "ui.charts": 3,
    "ui.head_view": 4, "ui.links": 4, "ui.corpus_picker": 4, "ui.sidebar": 4, "ui.board": 4, "ui.workshop": 4,
    "ui.frame": 5,
    "ui.sections": 6,
    "pages": 7,
}
# edges that may break the rules above, each with its reason (none today; an optional dependency such as Ray
# imported lazily would be listed here)
UI_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _family(module: str) -> str:
    for fam in sorted(UI_RANKS, key=len, reverse=True):
        if module == fam or module.startswith(fam + "."):
            return fam
    raise AssertionError(f"{module} has no rank in UI_RANKS")


def _ui_graph() -> dict[str, set[str]]:
    files = [p for p in [*UI, *(ROOT / "pages").glob("*.py")] if p != ROOT / "ui" / "__init__.py"]
    return {_module_name(p): {m for m in _imports(p) if m.split(".")[0] == "ui" and m != "ui"
                              and (_module_name(p), m) not in UI_EXCEPTIONS} for p in files}


def test_ui_sources_found():
    graph = _ui_graph()
    assert "ui.jobs.lens" in graph and "ui.runner" in graph["ui.sections.dla"]  # function-level imports seen too
    assert all(_family(m) for m in graph)


def test_ui_has_no_import_cycle():
    cycle = _cycle(_ui_graph())
    assert not cycle, " -> ".join(cycle)


def test_ui_imports_run_one_way():
    bad = []
    for me, deps in _ui_graph().items():
        for dep in deps:
            mine, theirs = _family(me), _family(dep)
            if mine == "ui.sections" and theirs == "ui.sections":
                bad.append(f"{me} imports {dep} (sections never import each other)")
            elif mine != theirs and UI_RANKS[theirs] >= UI_RANKS[mine]:
                bad.append(f"{me} imports {dep}")
    stale = [edge for edge in UI_EXCEPTIONS if edge[1] not in _imports(ROOT / (edge[0].replace(".", "/") + ".py"))]
    assert not bad and not stale, "; ".join(sorted(bad)) + (f"; exceptions no longer needed: {stale}" if stale else "")


def test_every_chart_is_drawn_by_ui_charts():
    """One place draws charts (ui.charts.chart), so every chart has its 📌 Pin button."""
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in [*UI, *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
           if p != ROOT / "ui" / "charts.py"
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if ".plotly_chart(" in line]
    assert not bad, f"charts drawn outside ui/charts.py: {bad}"


def test_jobs_and_store_are_streamlit_free():
    files = [ROOT / "ui" / "store.py", *(ROOT / "ui" / "jobs").glob("*.py")]
    bad = [str(p.relative_to(ROOT)) for p in files if any(m.split(".")[0] == "streamlit" for m in _imports(p))]
    assert not bad


def test_warmup_imports_only_jobs_and_the_store():
    deps = _ui_graph()["ui.warmup"]
    assert deps and all(_family(d) in ("ui.jobs", "ui.store") for d in deps), deps
    assert not any(m.split(".")[0] == "streamlit" for m in _imports(ROOT / "ui" / "warmup.py"))



def test_what_the_first_paint_imports_stays_torch_free():
    """app.py's frame (sidebar, navigation), the runner and the warm-up module load before a page draws its title:
    importing torch there would delay every first paint by seconds."""
    import subprocess
    import sys

    code = ("import sys, ui.frame, ui.navigation, ui.sidebar, ui.runner, ui.warmup, ui.store, ui.jobs.base; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
