"""The collection loop (采集 → 初审 → 复审): field tasks, two-level review, the errors-and-gaps list."""
