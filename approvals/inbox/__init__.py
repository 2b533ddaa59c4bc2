"""The reviewers' pages: the inbox, its reads and forms, email deep links, the Settings page."""
