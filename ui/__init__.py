"""Streamlit-side helpers shared by the pages: caches, sidebar, URL state, error display."""
