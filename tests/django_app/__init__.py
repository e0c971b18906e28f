"""Tests of the Django app in process (a package: its conftest must not shadow others)."""
