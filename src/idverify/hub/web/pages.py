"""Page shells of the regional hub UI, who may open them, login and the language switch.

Pages carry no data of their own: their scripts read and change it through ``/api/v1``, where roles are checked
once. An unauthenticated visitor goes to ``/login``; a user opening the other role's page gets a 403 page. URLs
carry ids only. Every page is sent with the clinic UI's strict Content-Security-Policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from idverify.errors import AuthenticationError
from idverify.hub import users
from idverify.hub.alerts import KINDS
from idverify.hub.api.deps import SESSION_COOKIE, HubSession
from idverify.hub.users import HubPrincipal, HubRole
from idverify.hub.web.i18n import HubTranslator, hub_catalogue
from idverify.i18n import LOCALE_COOKIE, LOCALES, negotiate
from idverify.web.page_security import SECURITY_HEADERS, safe_return_path

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True)
class MenuItem:
    path: str
    label: str


MENUS: dict[HubRole, tuple[MenuItem, ...]] = {
    HubRole.REGIONAL_INSPECTOR: (MenuItem("/alerts", "nav.alerts"), MenuItem("/clinics", "nav.clinics"),
                                 MenuItem("/stats", "nav.stats")),
    HubRole.HUB_ADMIN: (MenuItem("/clinics", "nav.clinics"), MenuItem("/admin", "nav.admin")),
}
HOME = {role: items[0].path for role, items in MENUS.items()}
# path -> (template, title key, roles that may open it)
SCREENS: dict[str, tuple[str, str, frozenset[HubRole]]] = {
    "/alerts": ("alerts.html", "alerts.title", frozenset({HubRole.REGIONAL_INSPECTOR})),
    "/clinics": ("clinics.html", "clinics.title", frozenset(HubRole)),
    "/stats": ("stats.html", "stats.title", frozenset({HubRole.REGIONAL_INSPECTOR})),
    "/admin": ("admin.html", "admin.title", frozenset({HubRole.HUB_ADMIN})),
}

router = APIRouter(include_in_schema=False)


def viewer_of(request: Request, db: HubSession) -> HubPrincipal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return users.authenticate(db, token)
    except AuthenticationError:
        return None


def render(request: Request, template: str, *, viewer: HubPrincipal | None, title: str, status_code: int = 200,
           **extra: Any) -> Response:
    t = HubTranslator(negotiate(request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language")))
    context = {
        "t": t, "locale": t.locale, "locales": LOCALES, "catalogue": dict(hub_catalogue(t.locale)),
        "viewer": viewer, "menu": MENUS[viewer.role] if viewer else (), "active": request.url.path,
        "title": title, "hub_name": request.app.state.hub.witness.name, **extra,
    }
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _redirect(path: str) -> RedirectResponse:
    response = RedirectResponse(path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/")
def root(request: Request, db: HubSession) -> Response:
    viewer = viewer_of(request, db)
    return _redirect(HOME[viewer.role] if viewer else "/login")


@router.get("/login")
def login_page(request: Request, db: HubSession) -> Response:
    viewer = viewer_of(request, db)
    if viewer is not None:
        return _redirect(HOME[viewer.role])
    return render(request, "login.html", viewer=None, title="login.title")


@router.get("/locale/{code}")
def switch_locale(code: str, request: Request) -> Response:
    response = _redirect(safe_return_path(request.headers.get("referer"), request.headers.get("host")))
    if code in LOCALES:
        response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/",
                            secure=request.app.state.hub.settings.secure_cookies)
    return response


def _show(request: Request, db: Any, path: str, **extra: Any) -> Response:
    template, title, roles = SCREENS[path]
    viewer = viewer_of(request, db)
    if viewer is None:
        return _redirect("/login")
    if viewer.role not in roles:
        return render(request, "forbidden.html", viewer=viewer, title="forbidden.title", status_code=403,
                      home=HOME[viewer.role])
    return render(request, template, viewer=viewer, title=title, **extra)


@router.get("/alerts")
def alerts_page(request: Request, db: HubSession) -> Response:
    return _show(request, db, "/alerts", kinds=KINDS)


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: int, request: Request, db: HubSession) -> Response:
    viewer = viewer_of(request, db)
    if viewer is not None and viewer.role is HubRole.REGIONAL_INSPECTOR:
        return render(request, "alert.html", viewer=viewer, title="alert.title", alert_id=alert_id)
    return _show(request, db, "/alerts", kinds=KINDS)


@router.get("/clinics")
def clinics_page(request: Request, db: HubSession) -> Response:
    return _show(request, db, "/clinics")


@router.get("/stats")
def stats_page(request: Request, db: HubSession) -> Response:
    return _show(request, db, "/stats")


@router.get("/admin")
def admin_page(request: Request, db: HubSession) -> Response:
    return _show(request, db, "/admin")
