import streamlit as st
st.title("ablation")
