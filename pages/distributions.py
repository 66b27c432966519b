import streamlit as st
st.title("distributions")
