"""The human-facing side of casetrack: read-only HTML case pages, the timeline as SVG, and the API's
documentation (Swagger UI and Redoc) served from the service itself, all under a strict
Content-Security-Policy."""

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.auth.dependencies import authorize_method
from app.filters import check_request_params
from app.web import api, docs, router
from app.web.router import PageError, page_error

STATIC = Path(__file__).parent / "static"


def install_web(app: FastAPI, api_prefix: str) -> None:
    """Add the pages, the SVG endpoint (under ``api_prefix``, with the API's own checks) and the docs.

    The app must be created with ``docs_url=None, redoc_url=None``: /docs and /redoc come from here."""
    svg = APIRouter(prefix=api_prefix, dependencies=[Depends(authorize_method), Depends(check_request_params)])
    svg.include_router(api.router)
    app.include_router(svg)
    app.include_router(docs.router)
    app.include_router(router.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(PageError, page_error)
