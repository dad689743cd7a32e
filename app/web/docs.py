"""The API's own documentation, served whole by the service: Swagger UI at /docs and Redoc at /redoc,
their scripts and styles from /static/vendor (see static/vendor/README.md), never from a CDN."""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.web.security import BROWSER_HEADERS, docs_csp

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"
FAVICON = "/static/favicon.svg"
SWAGGER_PARAMETERS = {
    # The default validator badge asks validator.swagger.io about our schema: a request to the outside.
    "validatorUrl": None,
    "docExpansion": "list",
    "defaultModelsExpandDepth": 0,
    "tryItOutEnabled": False,
    "persistAuthorization": False,
}


def _with_headers(page: HTMLResponse, **needs: bool) -> HTMLResponse:
    html = bytes(page.body).decode()
    page.headers["Content-Security-Policy"] = docs_csp(html, **needs)
    page.headers.update(BROWSER_HEADERS)
    return page


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API documentation (Swagger UI)",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )
    return _with_headers(page)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title}: API documentation (Redoc)",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )
    return _with_headers(page, inline_styles=True, blob_workers=True)
