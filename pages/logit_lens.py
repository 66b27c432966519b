import streamlit as st
st.title("logit_lens")
