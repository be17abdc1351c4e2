"""The web page in a real Chromium (Debian's, driven by Playwright): upload a file, map its
columns, watch the import finish, and find the rows in the table."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.service.conftest import Service, table_rows

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHROMIUM = os.environ.get("CHUTE_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        service_missing("web page", f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser: Any, service: Service, token: str) -> Any:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(service.url + "/")
    page.fill("#token", token)
    page.click("#signin button")
    page.wait_for_selector("#who:has-text('signed in')")
    page.errors = errors
    return page


def test_upload_map_and_import_from_the_page(
    browser: Any, service: Service, tmp_path: Path
) -> None:
    token = service.tenant("pager")
    source = tmp_path / "Customer List.csv"
    source.write_text("Id,Zip,junk,Name\n1,00123,x,Ann\n2,04567,y,Bo\n3,10001,z,Cy\n")
    page = signed_in(browser, service, token)
    page.set_input_files(".uppy-Dashboard-input", str(source))
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_selector("#mapping-section:not([hidden])", timeout=30_000)
    assert page.input_value("#target-name") == "customer_list"
    rows = page.locator("#columns tbody tr")
    assert rows.count() == 4
    zip_row = page.locator("#columns tbody tr[data-column='Zip']")
    assert zip_row.locator(".type").input_value() == "text"  # leading zeros: kept as text
    page.locator("#columns tbody tr[data-column='Id'] .goes-to").fill("id")
    page.locator("#columns tbody tr[data-column='junk'] .skip").check()
    page.locator("#columns tbody tr[data-column='Name'] .type").select_option("text")
    page.click("#start-import")
    page.wait_for_selector("#jobs tr.job.done", timeout=60_000)
    assert page.locator("#jobs tr.job.done .rows").inner_text() == "3"
    assert page.errors == []
    got = table_rows(service.db, "pager", 'SELECT id, "Zip", "Name" FROM customer_list ORDER BY id')
    assert got == [(1, "00123", "Ann"), (2, "04567", "Bo"), (3, "10001", "Cy")]


def test_a_bad_token_and_a_refused_import_are_shown(
    browser: Any, service: Service, tmp_path: Path
) -> None:
    page = browser.new_page()
    page.goto(service.url + "/")
    page.fill("#token", "chute_not_a_token")
    page.click("#signin button")
    page.wait_for_selector("#who:has-text('401')")
    token = service.tenant("pager2")
    page = signed_in(browser, service, token)
    source = tmp_path / "data.csv"
    source.write_text("a,b\n1,2\n")
    page.set_input_files(".uppy-Dashboard-input", str(source))
    page.click(".uppy-StatusBar-actionBtn--upload")
    page.wait_for_selector("#mapping-section:not([hidden])", timeout=30_000)
    page.locator("#columns tbody tr[data-column='a'] .goes-to").fill("b")  # two columns "b"
    page.click("#start-import")
    page.wait_for_selector("#import-error:has-text('two columns the name')")
    assert page.locator("#jobs tbody tr").count() == 0
