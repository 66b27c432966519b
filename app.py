"""Looking Glass: the thin frame — page config, shared sidebar, navigation over the four pages."""
import streamlit as st

st.set_page_config(page_title="Looking Glass", page_icon="🔍", layout="wide")

from ui.charts import PAGE  # noqa: E402  (after set_page_config)
from ui.navigation import page_links, st_pages, url_path_of  # noqa: E402
from ui.sidebar import model_sidebar  # noqa: E402
from ui.workshop import room_run, room_sidebar, room_start  # noqa: E402

# Hidden: the sidebar's links are drawn by page_links (config hides Streamlit's own list, which would show the
# files of pages/ during a fresh server's first run).
nav = st.navigation(st_pages(), position="hidden")
st.session_state[PAGE] = url_path_of(nav)
room_start(nav)  # ?present / ?follow=CODE: a follower switches to the presenter's view before anything draws
page_links()
st.session_state["lm"] = model_sidebar()
room_sidebar()
with room_run(nav):  # a presenter's finished run publishes its view to the room
    nav.run()
if st.session_state["lm"] is None:  # a page without page_model (home): prepare the chosen model below it
    from ui.sidebar import load_pending  # noqa: E402

    load_pending()
