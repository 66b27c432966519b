"""The take-home report: pinned views (inputs, figure, key numbers, provenance) written as one self-contained,
offline HTML file. Streamlit-free, so pages, lessons and the CLI build the same report."""
from .html import build_report
from .pins import Pin, Provenance

__all__ = ["Pin", "Provenance", "build_report"]
