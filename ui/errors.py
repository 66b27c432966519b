"""Show failures as one clear message on the page that had them; the rest of the app keeps working."""
from __future__ import annotations

import logging
from contextlib import contextmanager

import streamlit as st

from interp_core import Cancelled, UserError
from interp_core.results import is_out_of_memory

log = logging.getLogger("looking_glass")


@contextmanager
def shown_errors(action: str = "This action"):
    """Turn exceptions into st.error lines. BaseExceptions (Streamlit stop/rerun) pass through untouched."""
    try:
        yield
    except UserError as e:
        st.error(str(e))
    except Cancelled:
        st.info(f"{action} was cancelled.")
    except Exception as e:  # noqa: BLE001 - the page must survive anything
        if is_out_of_memory(e):
            st.error(f"{action} ran out of memory; try fewer tokens, a smaller batch or a smaller model.")
        else:
            log.exception("%s failed", action)
            first = (str(e).strip().splitlines() or [""])[0][:300]
            st.error(f"{action} failed: {e.__class__.__name__}: {first}")
