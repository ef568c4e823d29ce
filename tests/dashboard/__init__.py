"""Dashboard tests: query module, help text, Streamlit page (AppTest) and a real browser."""
