from typing import Annotated

from fastapi import Depends, Request

from app import http
from app.cases.models import Case
from app.db import SessionDep
from app.records import get_or_404


async def load_case(case_id: str, session: SessionDep, request: Request) -> Case:
    return http.loaded(request, await get_or_404(session, Case, case_id, "case"))


CaseDep = Annotated[Case, Depends(load_case)]
