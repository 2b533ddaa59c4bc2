"""Standing approvals ("approve and remember", docs/agents.md): reads here, changes in
approvals/services/standing.py, matching in approvals/routing.py."""
