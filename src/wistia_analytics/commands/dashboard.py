"""`wistia-analytics dashboard`: the Streamlit dashboard over an existing lake, until Ctrl-C or SIGTERM."""

from __future__ import annotations

from wistia_analytics.commands.lake_access import existing_lake
from wistia_analytics.dashboard.launcher import check_port_free, run_dashboard
from wistia_analytics.settings import load_settings


def dashboard_command(host: str, port: int) -> int:
    """Refuse a missing lake or a busy port first (one line each), then serve; the child never outlives us."""
    settings = load_settings()
    storage = existing_lake(settings)
    check_port_free(host, port)

    def ready(address: str) -> None:
        print(f"Dashboard: {address}  (lake: {storage.uri('')}; Ctrl-C to stop)", flush=True)

    return run_dashboard(host, port, settings.lake_uri, on_ready=ready)
