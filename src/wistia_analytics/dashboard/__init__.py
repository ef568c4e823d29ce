"""The Streamlit dashboard over Gold: `serve()` starts it; `app.py` is the page; data comes from
`wistia_analytics.query.dashboard` only."""
