"""`make demo`: the embedded default end to end. Until the pipeline stages land, it starts the sandbox,
proves it answers like Wistia, and tells you how to reach it."""

from __future__ import annotations

import contextlib

import httpx
import typer

from wistia_analytics.sandbox import SandboxConfig
from wistia_analytics.sandbox.server import Sandbox


def run_demo(*, size: str, port: int, serve: bool) -> int:
    config = SandboxConfig(size=size)  # type: ignore[arg-type]
    try:
        sandbox = Sandbox(config, port=port)
    except OSError:
        sandbox = Sandbox(config, port=0)  # the default port is taken: any free port will do
    sandbox.start()
    try:
        with httpx.Client(
            base_url=sandbox.base_url, headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=30
        ) as client:
            account = client.get("/account.json").json()
            medias = client.get("/medias.json", params={"per_page": 100}).json()
            today = client.get("/stats/account/by_date.json").json()
        typer.echo(f"Sandbox Wistia API for '{account['name']}' is up at {sandbox.base_url}")
        typer.echo(
            f"  {account['mediaCount']} medias in {account['projectCount']} projects, e.g. "
            f"{', '.join(m['name'] for m in medias[:3])}"
        )
        for row in today:
            typer.echo(
                f"  {row['date']}: {row['load_count']} loads, {row['play_count']} plays, "
                f"{row['hours_watched']:.1f} hours watched"
            )
        typer.echo("")
        typer.echo("Point any Wistia client at it:")
        typer.echo(f"  export WISTIA_API_URL={sandbox.base_url}")
        typer.echo(f"  export WISTIA_API_TOKEN={sandbox.token}")
        typer.echo(f"  curl -H 'Authorization: Bearer {sandbox.token}' {sandbox.base_url}/stats/events.json")
        if serve:
            typer.echo("Serving until Ctrl-C ...")
            with contextlib.suppress(KeyboardInterrupt):
                sandbox.wait()
        return 0
    finally:
        sandbox.stop()
