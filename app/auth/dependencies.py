"""Reading the caller's token, and the role checks routes declare."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.roles import ANONYMOUS, Role, Viewer
from app.auth.service import viewer_for
from app.db import WRITE_METHODS, SessionDep
from app.errors import Forbidden, Unauthorized

bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer ct_...`.")


async def current_viewer(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Viewer:
    """Who is calling; also hands the viewer to the session, whose queries it filters."""
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        if request.app.state.settings.require_token_for_reads:
            raise Unauthorized("This service requires an API token for every request.")
        viewer = ANONYMOUS
    else:
        found = await viewer_for(session, credentials.credentials)
        if found is None:
            raise Unauthorized("The API token is unknown or has been revoked.")
        viewer = found
    session.info["viewer"] = viewer
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def _deny(viewer: Viewer, role: Role, what: str) -> None:
    if viewer.role is None:
        raise Unauthorized(f"{what} needs an API token with the {role.name} role.")
    raise Forbidden(f"{what} needs the {role.name} role; the token {viewer.name!r} is a {viewer.role.name}.")


async def authorize_method(request: Request, viewer: ViewerDep) -> Viewer:
    """Reads are open (unless configured otherwise); every write needs an editor."""
    if request.method in WRITE_METHODS and not viewer.has(Role.editor):
        _deny(viewer, Role.editor, "Changing records")
    return viewer


def require(role: Role) -> Callable[..., Coroutine[Any, Any, Viewer]]:
    async def check(viewer: ViewerDep) -> Viewer:
        if not viewer.has(role):
            _deny(viewer, role, "This operation")
        return viewer

    return check


ReaderDep = Annotated[Viewer, Depends(require(Role.reader))]
AdminDep = Annotated[Viewer, Depends(require(Role.admin))]
