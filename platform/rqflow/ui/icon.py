"""The site's icon, at ``/favicon.ico`` as well as ``/ui/static/favicon.svg``.

Every page links the SVG (``base.html``), so a browser showing the dashboard asks for
nothing else; a client that asks for ``/favicon.ico`` regardless (an older browser,
the API's own pages, a bookmark service) gets the same picture instead of a 404 in
every log.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from rqflow.ui.rendering import STATIC_DIR

FAVICON = STATIC_DIR / "favicon.svg"
# A day: the icon changes with a release, and a browser asks again after that.
CACHE_SECONDS = 86400

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The SVG icon (browsers take SVG whatever the path's suffix says)."""
    return FileResponse(FAVICON, media_type="image/svg+xml",
                        headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})
