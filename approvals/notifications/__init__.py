"""Messages to reviewers: email for new work, reminders, escalations and the digest."""
