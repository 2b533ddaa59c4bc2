"""Who does the work: assignment on intake, distributing waiting work, the fatigue flag."""
