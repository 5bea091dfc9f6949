"""The console's log pages take the same page tokens as the API, through the same parser."""

from __future__ import annotations

from urllib.parse import quote


async def test_a_log_page_token_the_hub_did_not_issue_is_a_400_with_the_reason(browser):
    await browser.sign_in("audrey")
    for token in ("²", "9" * 19, "-1"):
        status, body = await browser.get(f"/log?after={quote(token)}")
        assert status == 400, token
        assert "PAGE_TOKEN_INVALID" in body
    status, _ = await browser.get("/log?after=5")
    assert status == 200
