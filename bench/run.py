"""Looking Glass benchmark harness. Not part of the test suite.

    python bench/run.py [--text FILE] [--quick] [--json] [--record] [--peers] [--no-browser] [--device cpu|cuda] [--dtype float32|bfloat16]

Each measurement runs in its own child process, so its peak resident memory (ru_maxrss) is its own.
Batches are the scan's own windows (8 x 256 tokens + BOS) of the same text for every contender.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
DEFAULT_TEXT = ROOT.parent / "shared" / "corpora" / "through_the_looking_glass.txt"
EIFFEL = "The Eiffel Tower is located in the city of"
PROMPT32 = ("The Eiffel Tower is located in the city of Paris, and every year millions of visitors climb its "
            "iron stairs to look out over the river and the city below")  # 32 Gemma tokens with <bos>
BATCH, SEQ = 8, 256


# ------------------------------------------------------------------ child side: one measurement each
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _model(a):
    from interp_core import load_model, make_spec
    return load_model(make_spec("gemma-3-270m", device=a["device"], dtype=a["dtype"]))


def _corpus(a, lm, times: int = 1):
    from interp_core.data import Corpus
    from interp_core.data import tokenize_corpus
    text = Path(a["text"]).read_text(encoding="utf-8")
    return tokenize_corpus(lm, Corpus.from_text("\n".join([text] * times), Path(a["text"]).name, a["text"]))


def _batches(tc, n_tokens):
    import numpy as np
    n = min(tc.n_tokens, n_tokens) // SEQ
    starts = np.arange(n, dtype=np.int64) * SEQ
    return [starts[i:i + BATCH] for i in range(0, n, BATCH)]


def _sync(lm):
    import torch
    if lm.device.type == "cuda":
        torch.cuda.synchronize()


def child_bare(a):
    """Plain HF forward (no Looking Glass hooks) through blocks 0..layer (layer=-1: all blocks, no LM head)."""
    import torch
    lm = _model(a)
    tc = _corpus(a, lm)
    batches = _batches(tc, a["tokens"])
    body = lm.model.model
    stop_at = a["layer"]

    class Stop(Exception):
        pass

    def stop(*_):
        raise Stop

    handle = body.layers[stop_at].register_forward_hook(stop) if stop_at >= 0 else None

    def fwd(ids):
        with torch.inference_mode():
            try:
                body(input_ids=ids, use_cache=False)
            except Stop:
                pass
    out = _timed_batches(lm, tc, batches, fwd)
    if handle:
        handle.remove()
    return out


def child_scan(a):
    """Looking Glass whole-layer scan (every MLP neuron, running top-20 with token indices and stats)."""
    from interp_core.neurons import scan_layer
    lm = _model(a)
    tc = _corpus(a, lm, a.get("times", 1))
    n_tokens = a["tokens"] if a["tokens"] > 0 else tc.n_tokens
    warm = _batches(tc, BATCH * SEQ)[0]
    from interp_core import Site
    lm.run(tc.batch(warm, SEQ, lm.device), capture=[Site("mlp_neurons", a["layer"])], need_logits=False)  # warm-up
    _sync(lm)
    t = time.perf_counter()
    res = scan_layer(lm, tc, site="mlp", layer=a["layer"], top_k=20, seq_len=SEQ, batch_size=BATCH,
                     max_tokens=n_tokens, use_cache=False)
    _sync(lm)
    dt = time.perf_counter() - t
    n = int(res.provenance["n_tokens_scanned"])
    return {"tokens": n, "seconds": dt, "tok_s": n / dt, "peak_mb": _peak_mb(), "corpus_tokens": tc.n_tokens}


def child_lens(a):
    """Logit lens warm latency on a 32-token prompt (all hidden states x full vocabulary), and the sweep."""
    from interp_core.lens import compute_lens
    from interp_core.lens import lens_sweep
    lm = _model(a)
    n_tok = len(lm.encode(PROMPT32).tokens)
    compute_lens(lm, PROMPT32)  # warm
    times = []
    for _ in range(5):
        t = time.perf_counter()
        compute_lens(lm, PROMPT32)
        _sync(lm)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    lens_sweep(lm, PROMPT32)  # first sweep: computes the head's Gram matrix once
    first_sweep = time.perf_counter() - t
    st = []
    for _ in range(3):
        t = time.perf_counter()
        lens_sweep(lm, PROMPT32)
        st.append(time.perf_counter() - t)
    return {"prompt_tokens": n_tok, "lens_s": statistics.median(times), "lens_all_s": times,
            "next_token_sweep_s": statistics.median(st), "next_token_sweep_first_s": first_sweep,
            "peak_mb": _peak_mb()}


def child_flow(a):
    """Time to the first information flow graph, 10 and 128 tokens (bench/flow_bench.py), with peak memory."""
    from flow_bench import run
    return run("gemma-3-270m", a["device"], a["dtype"], repeat=2 if a.get("quick") else 3)


def child_page(a):
    """Warm page interactions (Streamlit AppTest, the real page script): the logit lens page on Gemma, after
    its first run, changing colour mode, hover top-k and trajectory position; each is a full script rerun."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.run()
    at.switch_page("pages/logit_lens.py")
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    if at.exception or at.error:
        raise RuntimeError(str([e.value for e in (*at.exception, *at.error)])[:300])
    steps = [("ll_color", "radio", "target_rank"), ("ll_topk", "slider", 3), ("ll_color", "radio", "target_prob"),
             ("ll_topk", "slider", 5)]
    times = {}
    for key, kind, value in steps:
        t = time.perf_counter()
        getattr(at, kind)(key=key).set_value(value).run()
        times[f"{key}={value}"] = time.perf_counter() - t
        if at.exception or at.error:
            raise RuntimeError(str([e.value for e in (*at.exception, *at.error)])[:300])
    return {"first_run_s": first, "interactions_s": times, "max_interaction_s": max(times.values()),
            "peak_mb": _peak_mb()}


def child_sweep(a):
    """Ablation layer sweep (zero-ablate each block's MLP output) on one prompt."""
    from interp_core.ablation import sweep
    from interp_core.ablation import Ablation
    lm = _model(a)
    ab = Ablation(site="mlp_out", layer=0, method="zero")
    sweep(lm, EIFFEL, ab, "layers", target=" Paris")  # warm
    t = time.perf_counter()
    res = sweep(lm, EIFFEL, ab, "layers", target=" Paris")
    dt = time.perf_counter() - t
    return {"points": lm.adapter.n_layers, "seconds": dt, "peak_mb": _peak_mb(), "result_type": type(res).__name__}


def child_start(a):
    """Model start: cold (convert the GGUF package into an empty cache) or warm (read the safetensors cache)."""
    if a["cold"]:
        os.environ["LOOKING_GLASS_CACHE"] = a["cache"]
    t = time.perf_counter()
    lm = _model(a)
    dt = time.perf_counter() - t
    return {"seconds": dt, "peak_mb": _peak_mb(), "layers": lm.adapter.n_layers}


def child_cli_start(a):
    """The CLI's warm start: `info` and the default lens in a fresh process, then the same calls served by a
    resident worker (`python -m interp_core worker`), each the median of 3; and how long the worker takes to start."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LOOKING_GLASS_WORKER_SOCKET": str(Path(tmp) / "w.sock")}
        calls = {"info": ["info", "--model", "gemma-3-270m", "--json"],
                 "lens": ["lens", "--model", "gemma-3-270m", "--prompt", "The Eiffel Tower is located in the city of",
                          "--json"]}

        def timed(argv, e):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "interp_core", *argv], cwd=ROOT, env=e, check=True,
                           capture_output=True)
            return time.perf_counter() - t

        alone = {**env, "LOOKING_GLASS_WORKER": "0"}
        out = {f"{k}_fresh_process_s": statistics.median(timed(v, alone) for _ in range(3)) for k, v in calls.items()}
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "interp_core", "worker", "start", "--model", "gemma-3-270m"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        out["worker_start_s"] = time.perf_counter() - t
        try:
            for k, v in calls.items():
                out[f"{k}_worker_s"] = statistics.median(timed(v, env) for _ in range(3))
            status = subprocess.run([sys.executable, "-m", "interp_core", "worker", "status", "--json"], cwd=ROOT,
                                    env=env, check=True, capture_output=True, text=True)
            out["served"] = json.loads(status.stdout)["served"]  # 6: every timed call went to the worker
        finally:
            subprocess.run([sys.executable, "-m", "interp_core", "worker", "stop"], cwd=ROOT, env=env,
                           capture_output=True)
    out["seconds"] = out["info_worker_s"]
    return out


def _running_topk(acts, state, k=20):
    """The same per-batch top-k update the scan does, for peers (values only)."""
    import torch
    acts = acts.float().reshape(-1, acts.shape[-1])
    v = torch.topk(acts, min(k, acts.shape[0]), dim=0).values
    state["v"] = v if "v" not in state else torch.topk(torch.cat([state["v"], v]), k, dim=0).values


def _timed_batches(lm, tc, batches, one) -> dict:
    """Throughput of `one(ids)` (a bare forward or a peer's capture): one warm-up batch, then every batch, timed."""
    one(tc.batch(batches[0], SEQ, lm.device))
    _sync(lm)
    t = time.perf_counter()
    n = 0
    for s in batches:
        one(tc.batch(s, SEQ, lm.device))
        n += len(s) * SEQ
    _sync(lm)
    dt = time.perf_counter() - t
    return {"tokens": n, "seconds": dt, "tok_s": n / dt, "peak_mb": _peak_mb()}


def child_nnsight(a):
    """nnsight 0.8 tracing the same model object: capture layer L's MLP neurons, with and without early stop."""
    from nnsight import LanguageModel
    lm = _model(a)
    tc = _corpus(a, lm)
    batches = _batches(tc, a["tokens"])
    nm = LanguageModel(lm.model, tokenizer=lm.tokenizer)
    layer, early = a["layer"], a["early"]
    state = {}

    def one(ids):
        with nm.trace(ids) as tracer:
            acts = nm.model.layers[layer].mlp.down_proj.input.save()
            if early:
                tracer.stop()
        _running_topk(acts, state)
    return _timed_batches(lm, tc, batches, one)


def child_transformer_lens(a):
    """TransformerLens 4 TransformerBridge on the same local weights: run_with_cache of layer L's MLP neurons."""
    import torch
    from transformer_lens.model_bridge import TransformerBridge
    from interp_core.engine.embedded import gemma_cache_dir
    lm = _model(a)
    tc = _corpus(a, lm)
    batches = _batches(tc, a["tokens"])
    bridge = TransformerBridge.boot_transformers(str(gemma_cache_dir()), hf_model=lm.model, tokenizer=lm.tokenizer,
                                                 device=str(lm.device))
    layer, early = a["layer"], a["early"]
    name = f"blocks.{layer}.mlp.out.hook_in"
    state = {}

    def one(ids):
        kwargs = {"stop_at_layer": layer + 1} if early else {}
        with torch.inference_mode():
            _, cache = bridge.run_with_cache(ids, names_filter=lambda n: n == name, **kwargs)
        _running_topk(cache[name], state)
    return {**_timed_batches(lm, tc, batches, one), "hook": name}


def child_generate(a):
    """Clean + ablated 10 greedy tokens (bench/live_bench.py's measurement: the product's batched, KV-cached,
    screened path against two cached runs and the no-cache path, in the same process)."""
    from live_bench import bench_generate
    return bench_generate(argparse.Namespace(device=a["device"]), _model(a))


def child_steer(a):
    """Steering's default example: clean + steered 20 + 20 tokens and the 9-α sweep (bench/steer_bench.py)."""
    from steer_bench import bench_steer
    return bench_steer(_model(a))


FIRST_CHART_PAGES = {"neuron_explorer": "Neuron explorer", "ablation": "Ablation playground", "logit_lens": "Logit lens",
                     "distributions": "Activation distributions"}
CHART_JS = """(title) => { const m = document.querySelector('[data-testid="stMain"]');
  if (!m || (title && !(m.querySelector('h1') || {innerText: ''}).innerText.includes(title))) return false;
  return Array.from(m.querySelectorAll('.js-plotly-plot')).some(e => e.getBoundingClientRect().height > 0
    && !e.closest('.st-key-home_params_fig')); }"""  # the page's own chart, not the home page's still on screen


def child_room_delay(a):
    """Presenter-to-follower delay in a workshop room for 1 and 10 followers (bench/room_delay.py)."""
    from bench.room_delay import main as room_delay

    return room_delay(["--followers", a.get("followers", "1,10"), "--clients", a.get("clients", "10,30"),
                       "--changes", str(a.get("changes", 4))])


def child_first_chart(a):
    """Time to first chart per page in a real browser (Debian's Chromium), on a fresh server on a private cache
    once its warm-up (model, default scan) is done. Seconds until the first Plotly chart is drawn in the main
    area: the first open of each page; then, `repeat` times each, a warm open three ways: from the sidebar link
    in an open tab (the app's JavaScript, Plotly's included, already loaded), in a new tab of the same browser
    (new session, browser cache warm) and in a new browser profile (new session, nothing cached)."""
    from load import CHROMIUM, LAUNCH_ARGS, NAV_LINKS, start_load_server
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="lg-first-chart-"))
    t = time.perf_counter()
    server = start_load_server(tmp, workshop=False)
    extra: list = []  # the bare page's server
    out: dict = {"pages": {}, "app_healthy_s": time.perf_counter() - t}  # the app's warm start (models cached)
    view = {"width": 1400, "height": 1000}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            ctx = browser.new_context()  # the first visitor: the server loads the model and starts its warm-up
            pg = ctx.new_page()
            t_ask = time.perf_counter()
            pg.goto(server.url)
            pg.get_by_role("heading", name="Looking Glass").first.wait_for(timeout=600 * 1000)
            out["app_first_paint_s"] = time.perf_counter() - t  # from `streamlit run` to the home page's title
            out["app_first_paint_after_request_s"] = time.perf_counter() - t_ask  # ... from the browser's request
            pg.get_by_text("layers · d_model").first.wait_for(timeout=1800 * 1000)
            out["app_model_ready_s"] = time.perf_counter() - t  # ... to the loaded model's shape on it
            ctx.close()
            if not server.wait_idle(timeout_s=1800, quiet_s=5.0):
                raise RuntimeError("the server's warm-up did not finish")
            out["server_ready_s"] = time.perf_counter() - t

            def timed_goto(context, page_path: str, timeout_s: float) -> float:
                return timed_url(context, f"{server.url}/{page_path}", timeout_s)

            def timed_url(context, url: str, timeout_s: float) -> float:
                pg = context.new_page()
                t0 = time.perf_counter()
                pg.goto(url)
                pg.wait_for_function(CHART_JS, arg="", timeout=timeout_s * 1000, polling=20)
                dt = time.perf_counter() - t0
                pg.close()
                return dt

            def fresh(page_path: str, timeout_s: float) -> float:
                c = browser.new_context(viewport=view)
                try:
                    return timed_goto(c, page_path, timeout_s)
                finally:
                    c.close()

            for page_path in FIRST_CHART_PAGES:
                out["pages"][page_path] = {"first_open_s": fresh(page_path, 900)}
                server.wait_idle(timeout_s=900)
            same = browser.new_context(viewport=view)
            tab = same.new_page()
            tab.goto(server.url)
            tab.get_by_text("layers · d_model").first.wait_for()
            n = a.get("repeat", 3)
            for page_path, title in FIRST_CHART_PAGES.items():
                in_app = []
                for _ in range(n):
                    tab.locator(NAV_LINKS).filter(has_text="Home").first.click()
                    tab.locator(".st-key-home_params_fig .js-plotly-plot").wait_for(timeout=120 * 1000)
                    tab.wait_for_timeout(500)
                    t0 = time.perf_counter()
                    tab.locator(NAV_LINKS).filter(has_text=title).first.click()
                    tab.wait_for_function(CHART_JS, arg=title, timeout=120 * 1000, polling=20)
                    in_app.append(time.perf_counter() - t0)
                new_tab = [timed_goto(same, page_path, 120) for _ in range(n)]
                new_browser = [fresh(page_path, 120) for _ in range(n)]
                out["pages"][page_path].update({
                    "in_app_s": statistics.median(in_app), "new_tab_s": statistics.median(new_tab),
                    "new_browser_s": statistics.median(new_browser),
                    "all_s": {"in_app": in_app, "new_tab": new_tab, "new_browser": new_browser}})
            # the floor, in the same browser: a new tab of a bare Streamlit page with one small chart
            bare_url = _bare_page_server(tmp, extra)
            bare = [timed_url(same, bare_url, 120) for _ in range(n)]
            out["bare_page_new_tab_s"], out["bare_page_all_s"] = statistics.median(bare), bare
            same.close()
            browser.close()
    finally:
        server.stop()
        for proc in extra:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _bare_page_server(tmp: Path, procs: list) -> str:
    """Serve bench/bare_page.py with Streamlit (its process is added to `procs`, to be stopped); returns its URL."""
    from load import free_port, healthy

    port = free_port()
    log = (tmp / "bare-page.log").open("wb")
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(Path(__file__).with_name("bare_page.py")), "--server.port",
         str(port), "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats",
         "false", "--server.fileWatcherType", "none"], cwd=tmp, stdout=log, stderr=subprocess.STDOUT))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline and not healthy(url):
        time.sleep(0.3)
    return url


def child_scan_peers(a):
    """The scan against a bare HF forward stopped after the layer and nnsight's trace + stop(), in one process,
    rotated (bench/scan_peers.py)."""
    from scan_peers import main as scan_peers
    return scan_peers(["--rounds", str(a.get("rounds", 5)), "--batches", str(a.get("batches", 6))])


LINK_RESULT_S = 10.0  # a followed link's result must be drawn within this, without a click


def child_links(a):
    """Seconds from following each cross-page link to its result drawn, in Chromium, on a fresh server (private
    cache) once its warm-up is done, each in a new browser session (tests/e2e/links_helpers.py). A link whose page
    waits for a click instead is reported with `clicked: true` (the target is a result without a click, within
    LINK_RESULT_S)."""
    from tests.e2e.links_helpers import LINKS, follow
    from load import CHROMIUM, LAUNCH_ARGS, start_load_server
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="lg-links-"))
    server = start_load_server(tmp, workshop=False)
    out: dict = {"load_before": list(os.getloadavg()), "links": {}}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            first = browser.new_page()  # a fresh server warms up once someone opens it
            first.goto(server.url)
            if not server.wait_idle(timeout_s=1800, quiet_s=5.0):
                raise RuntimeError("the server's warm-up did not finish")
            first.close()
            out["load_before"] = list(os.getloadavg())
            for link in LINKS:
                out["links"][link.name] = follow(browser, server.url, link)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    out["load_after"] = list(os.getloadavg())
    out["seconds"] = max(v["seconds"] for v in out["links"].values())
    return out


CHILDREN = {k[6:]: v for k, v in globals().items() if k.startswith("child_")}


# ------------------------------------------------------------------ parent side: orchestration
def run_child(name: str, args: dict, timeout: float = 1800) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--args", json.dumps(args)]
    t = time.perf_counter()
    try:
        path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])  # the tests' harness
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": path})
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  {name} FAILED: {err[:400]}", file=sys.stderr)
        return {"error": err[:400]}
    out = json.loads(lines[-1])
    out["process_s"] = time.perf_counter() - t
    print(f"  {name} {json.dumps({k: v for k, v in args.items() if k not in ('text',)})}: "
          f"{json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items() if not isinstance(v, list)})}",
          file=sys.stderr)
    return out


def machine() -> dict:
    import torch
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import transformers
    info["transformers"] = transformers.__version__
    return info


def ratio(a, b, key="tok_s"):
    try:
        return a[key] / b[key]
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def suite(text: str, quick: bool, peers: bool, device: str, dtype: str, layer: int, cold: bool = True,
          browser: bool = True) -> dict:
    base = {"text": text, "device": device, "dtype": dtype}
    n = 4 * BATCH * SEQ if quick else 16 * BATCH * SEQ  # tokens for throughput runs
    r: dict = {"config": {"text": text, "quick": quick, "batch": BATCH, "seq_len": SEQ, "throughput_tokens": n,
                          "device": device, "dtype": dtype, "layer": layer}}
    r["bare_layer"] = run_child("bare", {**base, "layer": layer, "tokens": n})
    r["scan_layer"] = run_child("scan", {**base, "layer": layer, "tokens": n})
    r["bare_full"] = run_child("bare", {**base, "layer": -1, "tokens": n})
    r["scan_layer2"] = run_child("scan", {**base, "layer": 2, "tokens": n})
    r["book_scan"] = run_child("scan", {**base, "layer": 9, "tokens": 0 if not quick else 8192})
    r["book_scan_x2"] = run_child("scan", {**base, "layer": 9, "tokens": 0 if not quick else 16384, "times": 2})
    r["lens"] = run_child("lens", base)
    r["flow"] = run_child("flow", {**base, "quick": quick})
    r["ablation_layer_sweep"] = run_child("sweep", base)
    r["page_interactions"] = run_child("page", base)
    r["warm_start"] = run_child("start", {**base, "cold": False})
    r["cli_start"] = run_child("cli_start", {})
    r["generation"] = run_child("generate", base)
    r["steering"] = run_child("steer", base)
    if browser and device == "cpu":
        r["first_chart"] = run_child("first_chart", {"repeat": 3}, timeout=3600)
        r["links"] = run_child("links", {}, timeout=3600)
        r["room_delay"] = run_child("room_delay", {"followers": "1,10", "clients": "10,30", "changes": 4},
                                    timeout=3600)
    if cold and not quick:
        with tempfile.TemporaryDirectory() as tmp:
            r["cold_start"] = run_child("start", {**base, "cold": True, "cache": tmp})
    if peers:
        r["scan_peers"] = run_child("scan_peers", {"rounds": 3 if quick else 5})
        for early in (False, True):
            tag = "early" if early else "full"
            r[f"nnsight_{tag}"] = run_child("nnsight", {**base, "layer": layer, "tokens": n, "early": early})
            r[f"transformer_lens_{tag}"] = run_child("transformer_lens", {**base, "layer": layer, "tokens": n, "early": early})
    r["derived"] = derive(r)
    return r


def derive(r: dict) -> dict:
    d = {
        "scan_vs_bare_same_layers": ratio(r["scan_layer"], r["bare_layer"]),
        "early_exit_speedup_layer2_vs_full": ratio(r["scan_layer2"], r["bare_full"]),
        "scan_peak_vs_bare_peak": (r["scan_layer"].get("peak_mb", 0) / r["bare_layer"]["peak_mb"])
        if r["bare_layer"].get("peak_mb") else None,
        "book_peak_growth_x2": (r["book_scan_x2"].get("peak_mb", 0) / r["book_scan"]["peak_mb"])
        if r["book_scan"].get("peak_mb") else None,
    }
    for peer in ("nnsight_full", "nnsight_early", "transformer_lens_full", "transformer_lens_early"):
        if peer in r and "tok_s" in r[peer]:
            d[f"scan_vs_{peer}"] = ratio(r["scan_layer"], r[peer])
    t = {
        "scan >= 0.9 x bare (same layers)": (d["scan_vs_bare_same_layers"] or 0) >= 0.9,
        "early exit L2 >= 4x full depth": (d["early_exit_speedup_layer2_vs_full"] or 0) >= 4,
        "book scan <= 60 s": r["book_scan"].get("seconds", 1e9) <= 60,
        "book scan peak < 2.5 GB": r["book_scan"].get("peak_mb", 1e9) < 2560,
        "book peak flat (x2 text within 10%)": (d["book_peak_growth_x2"] or 9) <= 1.10,
        "lens 32 tokens <= 1.5 s warm": r["lens"].get("lens_s", 1e9) <= 1.5,
        "flow graph 10 tokens <= 2 s warm": r["flow"].get("t10", {}).get("graph_s", 1e9) <= 2.0,
        "flow graph 128 tokens <= 15 s": r["flow"].get("t128", {}).get("graph_s", 1e9) <= 15.0,
        "warm start <= 5 s (model load in a fresh process)": r["warm_start"].get("seconds", 1e9) <= 5,
        "warm start <= 5 s (CLI info, fresh process)": r["cli_start"].get("info_fresh_process_s", 1e9) <= 5,
        "warm start <= 5 s (CLI info, resident worker)": r["cli_start"].get("info_worker_s", 1e9) <= 5,
        "app warm start: home page drawn <= 5 s after `streamlit run`":
            r.get("first_chart", {}).get("app_first_paint_s", 1e9) <= 5,
        "app warm start: model ready <= 5 s after `streamlit run`":
            r.get("first_chart", {}).get("app_model_ready_s", 1e9) <= 5,
        "clean + ablated 10 greedy tokens <= 2 s": r["generation"].get("generation_batched_pair_s", 1e9) <= 2,
        "warm page interactions <= 1 s (logit lens page)": r["page_interactions"].get("max_interaction_s", 1e9) <= 1,
        "scan peak within 15% of bare peak": (d["scan_peak_vs_bare_peak"] or 9) <= 1.15,
    }
    if "bare_page_new_tab_s" in r.get("first_chart", {}):  # the floor: a bare Streamlit page, same browser
        d["bare_page_new_tab_s"] = r["first_chart"]["bare_page_new_tab_s"]  # a number to compare with, not a target
    for page, v in r.get("first_chart", {}).get("pages", {}).items():
        t[f"warm open of {page} (sidebar link) shows a chart <= 2 s"] = v.get("in_app_s", 1e9) <= 2
        t[f"warm open of {page} (new tab) shows a chart <= 2 s"] = v.get("new_tab_s", 1e9) <= 2
    for room in r.get("room_delay", {}).get("rooms", []):
        n, kind = room["followers"], room.get("kind", "chromium")
        tag = "followers" if kind == "chromium" else "clients"
        d[f"room_{n}_{tag}_step_lag_median_s"] = room["step"]["lag_after_presenter_median_s"]
        if kind == "chromium" and n == 1:  # a follower's browser shows the step right after the presenter's
            t["room of 1 (Chromium): the follower shows a presenter's step <= 1 s after the presenter does"] = (
                room["step"]["lag_after_presenter_max_s"] <= 1.0)
        if kind != "chromium" and n <= 10:  # the server's delivery: ten followers have the step within ~1 s
            t[f"room of {n} followers: every one has a presenter's step <= 1 s after the action"] = (
                room["step"]["all_followers_max_s"] <= 1.0)
    for name, e in r.get("room_delay", {}).get("estimate", {}).items():  # + one browser's own drawing
        d[f"room_{name}_every_follower_shows_max_s"] = e["every_follower_shows_max_s"]
    for peer, x in r.get("scan_peers", {}).get("scan_vs", {}).items():
        t[f"scan >= 1.0 x {peer} (same process, rotated)"] = x >= 1.0
    for name, v in r.get("links", {}).get("links", {}).items():
        t[f"followed link {name}: result without a click <= {LINK_RESULT_S:g} s"] = (
            not v.get("clicked") and v.get("seconds", 1e9) <= LINK_RESULT_S)
    for peer in ("nnsight_early", "transformer_lens_early"):
        if f"scan_vs_{peer}" in d:
            t[f"not slower than {peer}"] = d[f"scan_vs_{peer}"] >= 1.0
    d["targets"] = t
    return d


def record(results: dict, path: Path) -> None:
    """Append a dated section with machine details and the raw JSON to bench/RESULTS.md."""
    m = results["machine"]
    lines = [f"\n## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — {m.get('cpu')} ({m.get('cpu_count')} cores, "
             f"{m.get('mem_gb')} GB), {m.get('cuda') or 'no GPU'}; torch {m['torch']}, transformers {m['transformers']}; "
             f"{'quick' if results['config']['quick'] else 'full'} run, {results['config']['device']}/{results['config']['dtype']}\n"]
    lines.append("| target | met |\n| --- | --- |")
    for k, v in results["derived"]["targets"].items():
        lines.append(f"| {k} | {'yes' if v else '**no**'} |")
    lines.append("\n<details><summary>raw results</summary>\n\n```json\n" + json.dumps(results, indent=1) + "\n```\n</details>\n")
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--text", default=str(DEFAULT_TEXT), help="UTF-8 text file (default: ../shared/corpora book)")
    p.add_argument("--quick", action="store_true", help="fewer tokens, no cold start: a few minutes")
    p.add_argument("--no-cold-start", action="store_true", help="skip the cold start (GGUF conversion)")
    p.add_argument("--peers", action="store_true", help="also run nnsight and TransformerLens when installed")
    p.add_argument("--no-browser", action="store_true",
                   help="skip time-to-first-chart in Chromium (a Streamlit server and Playwright; CPU runs only)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--layer", type=int, default=6, help="layer for the throughput comparison (default 6)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--args", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        out = CHILDREN[a.child](json.loads(a.args))
        if "torch" in sys.modules and sys.modules["torch"].cuda.is_initialized():
            out["gpu_peak_mb"] = sys.modules["torch"].cuda.max_memory_allocated() / 2**20
        print(json.dumps(out))
        return 0
    if not Path(a.text).is_file():
        print(f"error: text file '{a.text}' not found; pass --text FILE", file=sys.stderr)
        return 2
    results = {"machine": machine()}
    results.update(suite(a.text, a.quick, a.peers, a.device, a.dtype, a.layer, not a.no_cold_start, not a.no_browser))
    if a.device == "cpu" and results["machine"]["cuda"]:
        for dt in ("float32", "bfloat16"):
            results[f"gpu_{dt}"] = suite(a.text, a.quick, False, "cuda", dt, a.layer, False)
    if a.record:
        record(results, Path(__file__).with_name("RESULTS.md"))
    if a.json:
        print(json.dumps(results, indent=1))
    else:
        for k, v in results["derived"]["targets"].items():
            print(f"{'PASS' if v else 'MISS'}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
