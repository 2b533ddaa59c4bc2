"""Slack: the reviewers' fastest channel (docs/api.md "Slack").

- `client` — is Slack on, the official `slack_sdk.WebClient`, and how a failure is retried.
- `blocks` — the Block Kit message, its decided form, the decision modal.
- `delivery` — what the Celery tasks call: create the messages a request needs, send and update
  them once each, look reviewers up by email.
- `hooks` — the one call the services make after commit.
- `interactions` — `/slack/interactions`: verify, decide through `approval_decide`, answer.
- `manifest` — the app manifest `manage.py slack_manifest` prints.
"""
