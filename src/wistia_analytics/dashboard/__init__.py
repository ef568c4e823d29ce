"""The Streamlit dashboard over Gold: `serve()` starts it; `app.py` is the page; its data layer (`gold`,
`metrics`, `speed_layer`, `trust`) reads only the published tables."""
