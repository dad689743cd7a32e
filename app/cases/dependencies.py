from typing import Annotated

from fastapi import Depends, Request

from app import http
from app.cases.models import Case
from app.db import SessionDep


async def load_case(case_id: str, session: SessionDep, request: Request) -> Case:
    return await http.load(request, session, Case, case_id, "case")


CaseDep = Annotated[Case, Depends(load_case)]
