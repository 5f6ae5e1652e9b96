"""Test-control routes under /_sim/."""
