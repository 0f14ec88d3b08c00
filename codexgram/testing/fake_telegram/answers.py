"""Telegram's ``ok:false`` answers, as the fake's method layer raises them. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An ``ok:false`` answer. ``violation`` (when set) says what the bot did wrong, for the test report."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        violation: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters
        self.violation = violation


def bad_request(description: str, *, violation: bool = False) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", violation=description if violation else None)
