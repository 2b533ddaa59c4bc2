"""The fake Slack answers the official client the way Slack documents (so the other tests mean
something): every method Checkpoint uses or may use, auth, and a 429 with Retry-After."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fixtures.slack import TOKEN, FakeSlack


def test_the_fake_answers_like_slack(fake_slack: FakeSlack) -> None:
    fake_slack.users = {"alice@example.com": "UALICE"}
    client = WebClient(token=TOKEN, base_url=fake_slack.url, retry_handlers=[])
    assert client.auth_test()["bot_id"] == "B0001"
    assert client.users_lookupByEmail(email="alice@example.com")["user"]["id"] == "UALICE"
    assert client.conversations_open(users="UALICE")["channel"]["id"] == "DALICE"
    posted = client.chat_postMessage(channel="UALICE", text="hi", blocks=[])
    assert posted["channel"] == "DALICE"
    assert client.chat_update(channel="DALICE", ts=posted["ts"], text="bye")["ok"]
    assert client.chat_postEphemeral(channel="C1", user="UALICE", text="psst")["message_ts"]
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    assert client.views_open(trigger_id="1.2.3", view=view)["view"]["type"] == "modal"

    for call, error in [
        (lambda: client.users_lookupByEmail(email="nobody@example.com"), "users_not_found"),
        (lambda: client.chat_update(channel="DALICE", ts="9.9", text="x"), "message_not_found"),
        (lambda: client.views_open(trigger_id="", view=view), "invalid_arguments"),
        (lambda: WebClient(token="xoxb-bad", base_url=fake_slack.url).auth_test(), "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as failed:
            call()
        assert failed.value.response["error"] == error

    fake_slack.fail((429, 7), method="chat.postMessage")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert [c.status for c in fake_slack.calls if c.method == "chat.postMessage"] == [200, 429]
