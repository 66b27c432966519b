"""Landing page: what each page answers and how to start."""
import streamlit as st

from ui.charts import chart
from ui.frame import require_frame

require_frame()

st.title("🔍 Looking Glass")
st.markdown(
    """
Open a real transformer language model and look inside it by clicking. Pick a model in the sidebar
(the embedded **Gemma 3 270M** works offline; **MiniLM-L6** is a BERT encoder), then choose a page:

- **🧠 Neuron explorer** — *what makes this neuron fire?* Run real text through the model, find the
  tokens and contexts that drive one hidden dimension or MLP neuron, or scan a whole layer and click any neuron.
- **🔭 Logit lens** — *at which layer does the model know?* Decode every layer's hidden state into
  vocabulary predictions and watch the answer take over.
- **📊 Activation distributions** — *how do the hidden states change shape through the network?*
  Histograms, scatter plots, covariance and R² between layers, outlier dimensions.
- **✂️ Ablation playground** — *does this component matter?* Zero, mean, noise, scale or patch attention,
  MLPs, neurons and hidden states, and compare clean and ablated outputs side by side.

Every page keeps its settings in the address bar: copy the link to share exactly what you see.
"""
)

# the title and explanation are drawn before the heavy imports below (torch, plotly): a first paint at once
from interp_core.components import parameter_breakdown  # noqa: E402
from interp_core.plots.model import parameters_figure  # noqa: E402

lm = st.session_state.get("lm")
if lm is not None:
    info = lm.info
    st.success(f"Loaded **{info.name}** ({info.family}, {info.n_layers} layers) on {info.device}.")
    # Something to look at from the first page (and the chart library is loaded before the user opens a page).
    chart(parameters_figure(parameter_breakdown(lm), title=f"Where {info.name}'s parameters are"),
                    key="home_params_fig")
    st.caption("Parameters per position: the embedding, each block (attention, MLP, norms) and the head. Tied "
               "weights count once, where they first appear (a tied unembedding shows under the embedding).")
