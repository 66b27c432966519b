"""Pure plotting functions: result -> plotly Figure (no model, no Streamlit needed)."""
