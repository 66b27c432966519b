"""Guarantees 7 and 9 at the source level: no remote code, no unsafe unpickling, no unescaped HTML,
XSRF on and an upload limit in the server config."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for d in ("interp_core", "ui", "pages") for p in (ROOT / d).rglob("*.py")) + [ROOT / "app.py"]


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else "?"


def test_sources_are_found():
    assert len(SOURCES) > 15 and (ROOT / "interp_core" / "engine" / "loading.py") in SOURCES


def test_no_trust_remote_code_true():
    bad = []
    for p in SOURCES:
        text = p.read_text(encoding="utf-8")
        if re.search(r"trust_remote_code\s*=\s*(True|1|not\b)", text):
            bad.append(str(p.relative_to(ROOT)))
        for call in _calls(ast.parse(text)):
            for kw in call.keywords:
                if kw.arg == "trust_remote_code" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    bad.append(f"{p.relative_to(ROOT)}:{call.lineno}")
                if kw.arg is None:  # **kwargs could smuggle trust_remote_code in a from_pretrained call
                    if "from_pretrained" in _name(call.func) or "from_config" in _name(call.func):
                        bad.append(f"{p.relative_to(ROOT)}:{call.lineno} (**kwargs into {_name(call.func)})")
    assert not bad, f"remote code could run: {bad}"


def test_every_torch_load_is_weights_only():
    bad, seen = [], 0
    for p in SOURCES:
        for call in _calls(ast.parse(p.read_text(encoding="utf-8"))):
            name = _name(call.func)
            if name.endswith("torch.load"):
                seen += 1
                kw = {k.arg: k.value for k in call.keywords}
                wo = kw.get("weights_only")
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    bad.append(f"{p.relative_to(ROOT)}:{call.lineno}")
            if name in ("pickle.load", "pickle.loads", "dill.load", "joblib.load", "numpy.load", "np.load"):
                kw = {k.arg: k.value for k in call.keywords}
                ap = kw.get("allow_pickle")
                if name.startswith(("np.", "numpy.")) and (ap is None or (isinstance(ap, ast.Constant) and not ap.value)):
                    continue
                bad.append(f"{p.relative_to(ROOT)}:{call.lineno} {name}")
    assert seen >= 1, "the pickle loading path in loading.py should be found by this scan"
    assert not bad, f"unsafe unpickling: {bad}"


def _starts_this_python(call: ast.Call) -> bool:
    """subprocess.* of an argv list written out in the code that starts with sys.executable, without a shell
    (the resident CLI worker starting itself): no user text can choose the program or reach a shell."""
    if not _name(call.func).startswith("subprocess.") or not call.args or not isinstance(call.args[0], ast.List):
        return False
    first = call.args[0].elts[0] if call.args[0].elts else None
    shell = any(k.arg == "shell" for k in call.keywords)
    return first is not None and _name(first) == "sys.executable" and not shell


def test_no_eval_exec_of_user_text():
    bad = []
    for p in SOURCES:
        for call in _calls(ast.parse(p.read_text(encoding="utf-8"))):
            if _name(call.func) in ("eval", "exec", "os.system", "subprocess.call", "subprocess.run", "subprocess.Popen"):
                if _starts_this_python(call):
                    continue
                bad.append(f"{p.relative_to(ROOT)}:{call.lineno} {_name(call.func)}")
    assert not bad, bad


def _escaping_modules(tree: ast.Module) -> dict[str, Path]:
    """Names imported from interp_core modules -> that module's file."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("interp_core"):
            f = ROOT / (node.module.replace(".", "/") + ".py")
            if not f.exists():  # a package: its __init__
                f = ROOT / node.module.replace(".", "/") / "__init__.py"
            for a in node.names:
                out[a.asname or a.name] = f
    return out


def test_unsafe_html_only_with_escaping():
    """Raw HTML is rendered only from text escaped in the same file or by the interp_core builder it calls.

    (The browser and AppTest suites check the rendered result with `<script>` tokens too.)
    """
    bad, checked = [], 0
    for p in SOURCES:
        text = p.read_text(encoding="utf-8")
        tree = ast.parse(text)
        imported = _escaping_modules(tree)
        for call in _calls(tree):
            name = _name(call.func)
            raw = name.endswith(".html") and name.startswith("st") or any(
                k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in call.keywords)
            if not raw:
                continue
            checked += 1
            if re.search(r"\bescape\(", text):
                continue
            builders = [_name(n.func) for a in call.args for n in ast.walk(a) if isinstance(n, ast.Call)]
            sources = [imported.get(b.split(".")[0]) for b in builders]
            if not builders or not all(s is not None and s.exists() and "html.escape(" in s.read_text(encoding="utf-8")
                                       for s in sources):
                bad.append(f"{p.relative_to(ROOT)}:{call.lineno} {name}")
        if "components.html(" in text or "components.v1" in text:
            bad.append(f"{p.relative_to(ROOT)} (custom component)")
    assert not bad, f"raw HTML without escaping: {bad}"


def test_server_config_keeps_xsrf_on_and_limits_uploads():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server = cfg["server"]
    assert server.get("enableXsrfProtection", True) is True
    assert isinstance(server.get("maxUploadSize"), int) and 1 <= server["maxUploadSize"] <= 100
    assert cfg.get("client", {}).get("showErrorDetails") in ("none", False, "false"), "tracebacks must not reach browsers"
