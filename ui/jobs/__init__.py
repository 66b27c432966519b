"""Page jobs as data: one Streamlit-free module per job (a frozen key, compute, cost, defaults, scheduler kind),
shared by the pages' sections (through ui.runner.run_keyed) and the background warm-up."""
