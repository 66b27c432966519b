"""The report board in Chromium: pin two charts, export the board, and open the downloaded HTML in a fresh
browser context with no network: both charts are drawn by the inlined plotly.js and no other script ran."""
from __future__ import annotations

from e2e_helpers import NAV_LINKS, open_app, result_or_click, wait_idle

LENS = "Top-1 prediction at every layer and position"
XSS = "<img src=x onerror=window.__xss=1> Paris"


def test_pinned_board_exports_offline_html(page, server, browser, tmp_path):
    from urllib.parse import quote

    open_app(page, server, "logit_lens", "ll_prompt=" + quote("The Eiffel Tower is in the city of " + XSS))
    result_or_click(page, "Run the logit lens", LENS)
    pins = page.get_by_role("button", name="📌 Pin")
    pins.first.wait_for()
    pins.nth(0).click()  # the lens heatmap
    wait_idle(page)
    page.get_by_role("button", name="📌 Pin").nth(1).click()  # the trajectory
    wait_idle(page)
    page.locator(NAV_LINKS).filter(has_text="Report board").first.click()
    wait_idle(page)
    page.get_by_text("2. ").first.wait_for()
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="⬇ Export the report (HTML)").click()
    path = tmp_path / "report.html"
    # the file as the server serves it (headless Chromium may cancel the save of a deferred download)
    resp = page.request.get(dl.value.url)
    assert resp.ok, resp.status
    path.write_bytes(resp.body())
    html = path.read_text(encoding="utf-8")
    assert html.count('class="lg-figure"') == 2 and "<img" not in html.split("</script>", 1)[1]

    fresh = browser.new_context(offline=True)
    requests: list[str] = []
    fresh.on("request", lambda r: requests.append(r.url))
    report = fresh.new_page()
    errors: list[str] = []
    report.on("pageerror", lambda e: errors.append(str(e)))
    report.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    report.goto(path.as_uri())
    report.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                             timeout=60_000)
    assert report.locator(".js-plotly-plot").count() == 2
    assert report.evaluate("() => window.__xss") is None
    assert [u for u in requests if not u.startswith("file:")] == []
    assert not errors, errors
    fresh.close()
