"""The interactive API docs (Swagger UI at ``/schema``), served from vendored assets.

Litestar's render plugins load their JavaScript and CSS from public CDNs by default, so the
page rendered blank without internet. The files are vendored under ``docs_assets/`` (version
and licence in its README) and served by the service itself.
"""

from __future__ import annotations

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

SWAGGER_UI_VERSION = "5.36.0"
ASSETS_DIR = Path(__file__).parent / "docs_assets"
ASSETS_PATH = "/schema-assets"
_SWAGGER = f"{ASSETS_PATH}/swagger-ui"


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/schema`` (and ``/schema/swagger``), every asset local."""
    return [
        SwaggerRenderPlugin(
            version=SWAGGER_UI_VERSION,
            path=["/", "/swagger"],
            js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{_SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{_SWAGGER}/favicon-32x32.png'>",
        )
    ]


def assets_router() -> Router:
    """The vendored files, cacheable for a day (they change only with a release)."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[ASSETS_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=86400),
        name="docs_assets",
    )
