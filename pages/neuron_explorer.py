import streamlit as st
st.title("neuron_explorer")
