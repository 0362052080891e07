"""The regional inspector's web UI: Jinja page shells and small scripts over the hub's JSON API, in zh-CN and
English — the clinic UI's conventions (and its stylesheet, core script and login script, served from the clinic
web package at ``/static``), with the hub's own pages, scripts (``/hub-static``) and catalogues.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from idverify.hub.web.pages import router
from idverify.web import STATIC_DIR as CLINIC_STATIC_DIR

HUB_STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=CLINIC_STATIC_DIR), name="static")
    app.mount("/hub-static", StaticFiles(directory=HUB_STATIC_DIR), name="hub-static")
