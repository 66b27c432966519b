"""Looking Glass: the thin frame — page config, shared sidebar, navigation over the four pages."""
import streamlit as st

st.set_page_config(page_title="Looking Glass", page_icon="🔍", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", url_path="home", default=True),
    st.Page("pages/neuron_explorer.py", title="Neuron explorer", icon="🧠", url_path="neuron_explorer"),
    st.Page("pages/logit_lens.py", title="Logit lens", icon="🔭", url_path="logit_lens"),
    st.Page("pages/distributions.py", title="Activation distributions", icon="📊", url_path="distributions"),
    st.Page("pages/ablation.py", title="Ablation playground", icon="✂️", url_path="ablation"),
]

nav = st.navigation(PAGES)
from ui.sidebar import model_sidebar  # noqa: E402  (after set_page_config)

st.session_state["lm"] = model_sidebar()
nav.run()
if st.session_state["lm"] is None:  # a page without page_model (home): prepare the chosen model below it
    from ui.sidebar import load_pending  # noqa: E402

    load_pending()
