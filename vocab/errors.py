"""Typed errors that every stage raises for expected failures, mapped once per surface:
the CLI prints one line and exits with :attr:`SohoaError.exit_code`; the API answers
:attr:`SohoaError.http_status` with ``{"error": kind, "detail": message}``; the web UI shows an
error page inside its layout. Messages are for people: Vietnamese where a person reads them.
"""
from __future__ import annotations


class SohoaError(Exception):
    """An expected failure with a message a user can act on."""

    kind = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # technical detail for the log, never shown instead of the message


class NotFound(SohoaError):
    kind, http_status, exit_code = "not_found", 404, 3


class Conflict(SohoaError):
    kind, http_status, exit_code = "conflict", 409, 4


class Invalid(SohoaError):
    kind, http_status, exit_code = "invalid", 422, 2


class Forbidden(SohoaError):
    kind, http_status, exit_code = "forbidden", 403, 5


class Unavailable(SohoaError):
    """A dependency (database, TSA, CRL server, token) cannot be reached or used right now."""

    kind, http_status, exit_code = "unavailable", 503, 6
