"""Versioned datasets: every import a commit; log, diff, checkout, branch, tag, merge and
revert at the cost of the changes.  See docs/datasets.md."""
