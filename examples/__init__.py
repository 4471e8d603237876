"""Runnable examples of schemahub (importable so tests run their code)."""
