"""Features in the neuron explorer, in a real browser, on an SAE trained by the CLI on the embedded Gemma 3 270M:
the feature explorer opens on a finished scan; a feature shows its top contexts, what it writes and its activation
on a typed prompt; "features on my prompt" lists the latents; "ablate this feature" shows clean vs ablated."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import ROOT, STARTUP_S, open_app, result_or_click, start_server, wait_idle

SAE = "e2e-gemma-l3"
QUERY = f"ne_site=sae&ne_sae={SAE}&ne_seq=64&ne_batch=4&ne_topk=5&ne_maxtok=2000"


@pytest.fixture(scope="module")
def feature_server(playwright_api, tmp_path_factory):
    """A private cache (seeing the converted embedded model) holding an SAE that `sae train` made; a server on it."""
    from interp_core import load_settings

    cache = tmp_path_factory.mktemp("features") / "cache"
    cache.mkdir()
    real = load_settings().cache_dir / "models"
    if real.exists():
        os.symlink(real, cache / "models")
    env = {**os.environ, "LOOKING_GLASS_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "interp_core", "sae", "train", "--layer", "3", "--latents", "256",
                          "--k", "8", "--max-tokens", "3072", "--seq-len", "64", "--name", SAE, "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert Path(report["path"], "cfg.json").is_file()
    srv = start_server(cache.parent, {"LOOKING_GLASS_CACHE": str(cache), "LOOKING_GLASS_WARMUP": "0"})
    yield srv.url
    srv.stop()
    text = srv.log.read_text(errors="replace")
    assert "Traceback" not in text, f"the server logged a traceback:\n{text[-4000:]}"


@pytest.fixture
def fpage(browser, feature_server):
    """A browser page for the feature server only (the shared `page` fixture would start the default server too)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(STARTUP_S * 1000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not [e for e in errors if "ResizeObserver" not in e], f"JavaScript errors in the page: {errors}"


def _open(page, server: str, query: str) -> None:
    open_app(page, server, "neuron_explorer", query)
    if page.get_by_text("Page not found").count():
        page.keyboard.press("Escape")
        wait_idle(page)


def test_feature_scan_contexts_writes_and_ablation(fpage, feature_server):
    page = fpage
    _open(page, feature_server, QUERY + "&ne_tab=Layer+scan")
    page.get_by_text(f"Features of {SAE}").first.wait_for()
    result_or_click(page, "Scan layer", f"256 features of sae.4:{SAE} over 2,000 tokens", timeout_s=600)
    page.get_by_role("heading", name="Feature ").first.wait_for()  # opens on the strongest feature
    heading = page.get_by_role("heading", name="Feature ").first.inner_text()
    feature = int(heading.split()[-1])
    page.get_by_text("Top contexts").first.wait_for()
    page.locator("span[title]").nth(10).wait_for(timeout=300_000)  # the shaded context tokens
    wait_idle(page, 300)
    page.get_by_text("What it writes").first.wait_for()
    page.get_by_text("Promotes").first.wait_for()
    result_or_click(page, "✂️ Ablate this feature", f"Clean vs feature {feature} ablated", timeout_s=300)
    page.get_by_text("KL(clean ‖ ablated)").first.wait_for()
    assert "Traceback" not in page.content()


def test_features_on_my_prompt(fpage, feature_server):
    page = fpage
    _open(page, feature_server, QUERY + "&ne_tab=On+your+own+prompt&ne_pdim=5")
    page.get_by_text("on your prompt").first.wait_for(timeout=300_000)  # the feature's activation per token
    page.get_by_text("Features on your prompt").first.wait_for(timeout=300_000)
    page.get_by_text("latents fire").first.wait_for()
    page.get_by_role("button", name="Open this feature").click()
    wait_idle(page)
    assert "Traceback" not in page.content()
