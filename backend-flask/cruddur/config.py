"""Cruddur's one place for configuration: everything is read from the environment once."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    frontend_url: str | None
    backend_url: str | None
    current_user_handle: str
    max_content_length: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def text(name: str, default: str | None = None) -> str | None:
            value = environ.get(name, "").strip()
            return value or default

        return cls(
            frontend_url=text("FRONTEND_URL"),
            backend_url=text("BACKEND_URL"),
            current_user_handle=text("CRUDDUR_USER_HANDLE", "andrewbrown"),
            max_content_length=1024 * 1024,
        )

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the API; unset URLs are left out rather than sent as None."""
        return [url.rstrip("/") for url in (self.frontend_url, self.backend_url) if url]


def load_settings(overrides: Mapping[str, str] | None = None) -> Settings:
    """Settings from the process environment, with `overrides` (env-style names) on top."""
    return Settings.from_env({**os.environ, **(overrides or {})})
