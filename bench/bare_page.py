"""The floor for a page open (bench/run.py first_chart): a bare Streamlit page with a title and one small
Plotly chart, no model, nothing else. Looking Glass's pages are timed against it in the same browser."""
import plotly.graph_objects as go
import streamlit as st

st.title("Bare page")
st.plotly_chart(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])), key="bare_fig")
