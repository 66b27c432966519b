"""Download buttons for tables (CSV/JSON) and figures (HTML; PNG via the chart's camera button).

Every file is built only when its button is clicked (Streamlit calls the callable then): a page rerun pays
nothing for its downloads, whatever their size."""
from __future__ import annotations

import json

import streamlit as st


def table_downloads(df, name: str, key: str) -> None:
    c1, c2 = st.columns(2)
    c1.download_button("⬇ CSV", lambda: df.to_csv(index=False).encode("utf-8"), f"{name}.csv", "text/csv",
                       key=f"{key}_csv")
    c2.download_button("⬇ JSON", lambda: df.to_json(orient="records", force_ascii=False).encode("utf-8"),
                       f"{name}.json", "application/json", key=f"{key}_json")


def json_download(obj, name: str, key: str, label: str = "⬇ JSON") -> None:
    """`obj`: a JSON-safe value, or a callable returning one (a large result's dict is then built on click only)."""
    st.download_button(label, lambda: json.dumps(obj() if callable(obj) else obj, ensure_ascii=False,
                                                 default=str).encode("utf-8"),
                       f"{name}.json", "application/json", key=key)


def figure_download(fig, name: str, key: str) -> None:
    """Interactive HTML of the figure; PNG comes from the camera icon in the chart's toolbar."""
    st.download_button("⬇ Figure (HTML)", lambda: fig.to_html(include_plotlyjs="cdn", full_html=True).encode("utf-8"),
                       f"{name}.html", "text/html", key=key, help="For PNG, use the camera icon on the chart.")


def table_and_figure(df, fig, name: str, key: str, fig_name: str | None = None) -> None:
    """A result's table (CSV, JSON) and its figure (HTML) as one row of download buttons."""
    left, right = st.columns([2, 1])
    with left:
        table_downloads(df, name, key)
    with right:
        figure_download(fig, fig_name or name, f"{key}_fig")
