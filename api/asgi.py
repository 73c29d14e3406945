"""The app as an import string for uvicorn: ``uvicorn api.asgi:app --workers 4``.

Settings come from the environment, read once per worker process at import.
``yunshang serve`` applies migrations before it starts the workers; a bare
``uvicorn api.asgi:app`` expects them applied already (``yunshang migrate``).
"""

from __future__ import annotations

from api.app import create_app

__all__ = ["app"]

app = create_app()
