"""The interactive API docs at /schema work offline (issue #17, item 13): the page loads its
scripts, styles and icon from the service's own vendored copy of Swagger UI, never a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from litestar.testing import AsyncTestClient

from adapters.http.api_docs import ASSETS_DIR, SWAGGER_UI_VERSION


class _References(HTMLParser):
    """Every URL the page makes the browser fetch: src and href attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(v for k, v in attrs if k in {"src", "href"} and v is not None)


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.urls


async def test_the_docs_page_references_no_external_url(client: AsyncTestClient[Any]) -> None:
    for path in ("/schema", "/schema/swagger"):
        response = await client.get(path)

        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        urls = _references(response.text)
        assert urls, "the page loads its assets by src and href"
        assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
        # Nor anywhere else in the page's markup outside the embedded API document.
        head = response.text.split("spec:", 1)[0]
        assert not re.search(r"https?://|//cdn|jsdelivr|unpkg|googleapis", head), head


async def test_every_asset_the_docs_page_names_is_served(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/schema")

    for url in _references(page.text):
        response = await client.get(url)

        assert response.status_code == 200, url
        assert len(response.content) > 100, url
        assert "max-age=86400" in response.headers["cache-control"]


async def test_the_vendored_swagger_ui_is_the_recorded_version_with_its_licence(
    client: AsyncTestClient[Any],
) -> None:
    swagger = ASSETS_DIR / "swagger-ui"
    assert f'"version": "{SWAGGER_UI_VERSION}"' in (swagger / "package.json").read_text()
    assert "Apache License" in (swagger / "LICENSE").read_text()
    assert f"| swagger-ui-dist | {SWAGGER_UI_VERSION} |" in (ASSETS_DIR / "README.md").read_text()
    bundle = await client.get("/schema-assets/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    missing = await client.get("/schema-assets/swagger-ui/nothing.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_the_asset_routes_are_not_in_the_api_document(client: AsyncTestClient[Any]) -> None:
    document = (await client.get("/schema/openapi.json")).json()

    assert not [path for path in document["paths"] if path.startswith("/schema")]
