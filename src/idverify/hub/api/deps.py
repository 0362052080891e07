"""Request dependencies of the hub, named once as ``Annotated`` aliases (``HubDep``, ``HubSession``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from idverify.hub.context import HubContext


def get_hub(request: Request) -> HubContext:
    hub: HubContext = request.app.state.hub
    return hub


HubDep = Annotated[HubContext, Depends(get_hub)]


def get_session(hub: HubDep) -> Iterator[Session]:
    db = hub.session_factory()
    try:
        yield db
    finally:
        if db.in_transaction():
            db.rollback()
        db.close()


HubSession = Annotated[Session, Depends(get_session)]
