"""``rqflow workflows ...``: list workflows and their runs, over the REST API."""

from __future__ import annotations

from typing import Annotated

import typer

from rqflow.client import tables
from rqflow.client.commands import JsonOption, LimitOption, OffsetOption, WideOption, api, connect, emit

app = typer.Typer(help="Look at workflows through the REST API (RQFLOW_API_URL, RQFLOW_TOKEN).",
                  no_args_is_help=True, callback=connect)


@app.command("list")
def list_workflows(
    ctx: typer.Context, limit: LimitOption = 50, offset: OffsetOption = 0, wide: WideOption = False,
    as_json: JsonOption = False,
) -> None:
    """List your workflows, oldest first, with their trigger nodes."""
    with api(ctx) as client:
        page = client.list_workflows(limit=limit, offset=offset)
    emit(page, as_json=as_json, render=lambda: tables.workflows_table(page, wide=wide))


@app.command("runs")
def runs(
    ctx: typer.Context,
    workflow_id: Annotated[int, typer.Argument(min=1, help="The workflow's id ('rqflow workflows list').")],
    limit: LimitOption = 50, offset: OffsetOption = 0, wide: WideOption = False, as_json: JsonOption = False,
) -> None:
    """A workflow's runs, newest first: status, trigger (schedule, manual, backfill), start (UTC), duration."""
    with api(ctx) as client:
        page = client.list_workflow_runs(workflow_id, limit=limit, offset=offset)
    emit(page, as_json=as_json, render=lambda: tables.workflow_runs_table(page, wide=wide))
