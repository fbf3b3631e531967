"""The one exception a console view raises to answer with an error page."""
from __future__ import annotations


class HttpError(Exception):
    """``status`` with the catalogue ``key`` of the sentence shown, and a detail (not translated)."""

    def __init__(self, status: int, key: str, detail: str = ""):
        super().__init__(key)
        self.status, self.key, self.detail = status, key, detail
