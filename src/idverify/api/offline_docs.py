"""``/docs`` served with the Swagger UI files shipped in ``web/static/swagger``: a clinic network, and often a
commission's, has no internet, so no CDN.

Its own module, apart from :mod:`idverify.api.openapi`: that one reads the clinic daemon's authentication
dependencies (and so imports the clinic's context, biometric engines included), which the regional hub, also
serving ``/docs``, must not load (2.2 s and numba/OpenCV in every hub worker for nothing).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_STATIC = "/static/swagger"


def install_offline_docs(app: FastAPI) -> None:
    """``/docs`` from the Swagger UI files under ``/static/swagger`` (Apache-2.0, see the LICENSE and NOTICE
    there); the app must be created with ``docs_url=None, redoc_url=None`` and serve ``/static``."""
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=title,
            swagger_js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_STATIC}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
