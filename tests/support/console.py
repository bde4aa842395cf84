"""Staff and console sessions for tests: accounts made through the use cases, logins through
the console's own forms."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from app.container import Container
from app.use_cases.staff import CreateStaff, SetPassword, create_staff, set_password
from domain.staff import StaffRole

T = TypeVar("T")
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="_csrf" value="([0-9a-f]*)"')


def on_app(client: Any, work: Callable[[], Awaitable[T]]) -> T:
    """Runs ``work`` on the app's event loop (the test client serves it on its own thread, and
    the pool belongs to that loop)."""
    result: T = client.blocking_portal.call(work)
    return result


def make_staff(
    container: Container,
    email: str,
    role: StaffRole,
    name: str = "",
    password: str = PASSWORD,
    *,
    client: Any,
) -> None:
    ports = container.staff
    assert ports is not None

    async def work() -> None:
        async with container.uow() as uow:
            link = await create_staff(CreateStaff(email, role, "test", name), uow, ports)
            await uow.commit()
        async with container.uow() as uow:
            await set_password(SetPassword(link.token, password), uow, ports)
            await uow.commit()

    on_app(client, work)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def console_login(client: Any, email: str, password: str = PASSWORD) -> httpx.Response:
    """Logs in through the form; the client keeps the session cookie."""
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"_csrf": csrf_of(page.text), "email": email, "password": password},
        follow_redirects=False,
    )
