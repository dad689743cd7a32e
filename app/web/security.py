"""Response headers for what a browser renders: a strict Content-Security-Policy and friends.

Our own pages run no script at all and load styles and images only from this service. The Swagger UI
page needs its one inline bootstrap script, allowed by its SHA-256 hash rather than 'unsafe-inline';
both documentation UIs fetch /openapi.json from this service and nothing from anywhere else
(tests/test_browser.py loads them in Chromium with every other host unresolvable and no CSP violation).
"""

import base64
import hashlib
import re

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# An SVG opened on its own is a document that could run script; ours has none and needs nothing.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"

BROWSER_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def inline_script_hashes(html: str) -> list[str]:
    """CSP source expressions ('sha256-...') for every inline <script> in a page."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_csp(html: str, *, inline_styles: bool = False, blob_workers: bool = False) -> str:
    """The policy for a documentation UI page: everything from 'self', plus the page's own inline
    bootstrap script by its hash. Redoc needs two more things, both made in the page by its own script
    (nothing fetched from elsewhere): ``inline_styles`` for the <style> elements its styled-components
    inject at run time (no hash can name them in advance), and ``blob_workers`` for its search index,
    which runs in a Web Worker built from a blob: URL."""
    scripts = " ".join(["'self'", *inline_script_hashes(html)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self'" + (" 'unsafe-inline'" if inline_styles else ""),
            "img-src 'self' data:",
            "worker-src " + ("'self' blob:" if blob_workers else "'none'"),
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
