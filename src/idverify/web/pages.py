"""Server-rendered page shells for the three roles, the login page and the locale switch.

Pages carry no data of their own: each one is a Jinja2 template plus a small script that reads and changes data
through the JSON API (``/api/v1``), so role checks, workstation scoping and the error envelope live in one place.
What this module decides is only *which page a caller may see*: an unauthenticated visitor is sent to ``/login``,
a staff member opening another role's page gets a 403 page pointing to their own home.

URLs carry ids and filter values only — never names or document numbers (they would end up in proxy and browser
logs). Every page response sends a strict Content-Security-Policy (no inline script, no third-party origin): the
UI works offline and nothing in it can be loaded from elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from idverify.api.deps import SESSION_COOKIE, SessionDep
from idverify.auth import repository as auth_repo
from idverify.auth import service as auth_service
from idverify.auth.roles import Role
from idverify.errors import AuthenticationError
from idverify.i18n import LOCALE_COOKIE, LOCALES, Translator, catalogue, negotiate
from idverify.web import STATIC_DIR
from idverify.web.page_security import SECURITY_HEADERS, safe_return_path

TEMPLATE_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATE_DIR)



@dataclass(frozen=True)
class MenuItem:
    path: str
    label: str  # catalogue key


MENUS: dict[Role, tuple[MenuItem, ...]] = {
    Role.NURSE: (
        MenuItem("/nurse/check", "nav.check"),
        MenuItem("/nurse/enrol", "nav.enrol"),
        MenuItem("/nurse/cycles/new", "nav.cycle_new"),
        MenuItem("/nurse/results", "nav.results"),
    ),
    Role.IT_ADMIN: (
        MenuItem("/admin/devices", "nav.devices"),
        MenuItem("/admin/staff", "nav.staff"),
        MenuItem("/admin/keys", "nav.keys"),
        MenuItem("/admin/settings", "nav.settings"),
    ),
    Role.INSPECTOR: (
        MenuItem("/inspector/verifications", "nav.verifications"),
        MenuItem("/inspector/audit", "nav.audit"),
        MenuItem("/inspector/reports", "nav.reports"),
    ),
}
HOME: dict[Role, str] = {role: items[0].path for role, items in MENUS.items()}


@dataclass(frozen=True)
class Screen:
    """One page: where it lives, its template, who may open it and its title key."""

    path: str
    template: str
    role: Role
    title: str


SCREENS: tuple[Screen, ...] = (
    Screen("/nurse/check", "nurse/check.html", Role.NURSE, "check.title"),
    Screen("/nurse/enrol", "nurse/enrol.html", Role.NURSE, "enrol.title"),
    Screen("/nurse/cycles/new", "nurse/cycle_new.html", Role.NURSE, "cycle_new.title"),
    Screen("/nurse/results", "verifications.html", Role.NURSE, "results.title"),
    Screen("/admin/devices", "admin/devices.html", Role.IT_ADMIN, "devices.title"),
    Screen("/admin/staff", "admin/staff.html", Role.IT_ADMIN, "staff.title"),
    Screen("/admin/keys", "admin/keys.html", Role.IT_ADMIN, "keys.title"),
    Screen("/admin/settings", "admin/settings.html", Role.IT_ADMIN, "settings.title"),
    Screen("/inspector/verifications", "verifications.html", Role.INSPECTOR, "verifications.title"),
    Screen("/inspector/audit", "inspector/audit.html", Role.INSPECTOR, "audit.title"),
    Screen("/inspector/reports", "inspector/reports.html", Role.INSPECTOR, "reports.title"),
)


def _policy_defaults() -> dict[str, Any]:
    """The built-in stage policy the settings form starts from (it stores only what differs from these)."""
    from idverify.workflow.policy import DEFAULT_FACTORS

    return {"document_required": True, "factors": DEFAULT_FACTORS}


def _cycle_choices() -> dict[str, Any]:
    """The cycle types and lookup document types the new-cycle form offers, from the API's own lists."""
    from typing import get_args

    from idverify.api.schemas.workflow import DocumentType
    from idverify.workflow.stages import CycleKind

    return {"cycle_kinds": [kind.value for kind in CycleKind], "document_types": list(get_args(DocumentType))}


def _consent_text() -> dict[str, Any]:
    """The version of the consent text the enrolment screen shows: the one the daemon records with the consent."""
    from idverify.workflow.consent import CONSENT_TEXT_VERSION

    return {"consent_text_version": CONSENT_TEXT_VERSION}


#: Template -> extra (non-personal) context a page shell needs besides the catalogue.
SCREEN_CONTEXT: dict[str, Callable[[], dict[str, Any]]] = {
    "admin/settings.html": lambda: {"policy_defaults": _policy_defaults()},
    "nurse/cycle_new.html": _cycle_choices,
    "nurse/enrol.html": _consent_text,
}


@dataclass(frozen=True)
class Viewer:
    """The logged-in staff member as the page header shows them."""

    staff_id: str
    display_name: str
    role: Role
    workstation_id: str
    csrf_token: str


def current_viewer(request: Request, db: SessionDep) -> Viewer | None:
    """The session cookie's staff member, or None when there is no valid session (expired, revoked, disabled)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = auth_service.authenticate_session(db, token)
    except AuthenticationError:
        return None
    staff = auth_repo.get_staff(db, principal.staff_id) if principal.staff_id else None
    if staff is None or principal.csrf_token is None:
        return None
    return Viewer(staff_id=staff.id, display_name=staff.display_name, role=principal.role,
                  workstation_id=principal.workstation_id, csrf_token=principal.csrf_token)


def translator(request: Request) -> Translator:
    return Translator(negotiate(request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language")))


def stage_codes(locale: str) -> list[str]:
    """The stages the UI knows names for, in catalogue order (filters and labels use the same list)."""
    return [key.removeprefix("stage.") for key in catalogue(locale) if key.startswith("stage.")]


def render(request: Request, template: str, *, viewer: Viewer | None, title: str, status_code: int = 200,
           **extra: Any) -> Response:
    t = translator(request)
    context: dict[str, Any] = {
        "t": t,
        "locale": t.locale,
        "locales": LOCALES,
        "catalogue": dict(catalogue(t.locale)),
        "viewer": viewer,
        "menu": MENUS[viewer.role] if viewer else (),
        "active": request.url.path,
        "title": title,
        "clinic_name": request.app.state.ctx.settings.clinic_name,
        "stages": stage_codes(t.locale),
        "query": request.query_params,
        # demo mode: the nurse pages get the "Simulated patient" panel (its API answers 404 unless simulating)
        "simulate_panel": bool(viewer and viewer.role is Role.NURSE and request.app.state.ctx.settings.simulate),
        **extra,
    }
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _redirect(path: str) -> RedirectResponse:
    response = RedirectResponse(path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


router = APIRouter(include_in_schema=False)


@router.get("/")
def root(request: Request, db: SessionDep) -> Response:
    viewer = current_viewer(request, db)
    return _redirect(HOME[viewer.role] if viewer else "/login")


@router.get("/login")
def login_page(request: Request, db: SessionDep) -> Response:
    viewer = current_viewer(request, db)
    if viewer is not None:
        return _redirect(HOME[viewer.role])
    return render(request, "login.html", viewer=None, title="login.title")


@router.get("/locale/{code}")
def switch_locale(code: str, request: Request) -> Response:
    """Remember the chosen language in a cookie and go back to the page the switch was clicked on."""
    response = _redirect(safe_return_path(request.headers.get("referer"), request.headers.get("host")))
    if code in LOCALES:
        response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/",
                            secure=request.app.state.ctx.settings.secure_cookies)
    return response


def _screen_endpoint(screen: Screen) -> Any:
    def show(request: Request, db: SessionDep) -> Response:
        viewer = current_viewer(request, db)
        if viewer is None:
            return _redirect("/login")
        if viewer.role is not screen.role:
            return render(request, "forbidden.html", viewer=viewer, title="forbidden.title", status_code=403,
                          home=HOME[viewer.role])
        extra = SCREEN_CONTEXT[screen.template]() if screen.template in SCREEN_CONTEXT else {}
        return render(request, screen.template, viewer=viewer, title=screen.title, screen=screen, **extra)

    show.__name__ = "page_" + screen.path.strip("/").replace("/", "_")
    return show


for _screen in SCREENS:
    router.add_api_route(_screen.path, _screen_endpoint(_screen), methods=["GET"])


def mount(app: FastAPI) -> None:
    """Add the pages and ``/static`` to ``app`` (called once by the app factory)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
