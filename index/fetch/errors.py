"""The error types of fetching, in a module that imports nothing (the core re-exports them)."""

from __future__ import annotations


class FetchError(Exception):
    """A request or page that produced nothing usable; `reason` is the one line reported."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AddressRefused(FetchError):
    """A link to a loopback, private or otherwise non-public address, refused for an untrusted sender."""


class FeedsFileError(ValueError):
    """The feeds file cannot be used; the message is one line naming the file and the problem."""


class FetchBusy(RuntimeError):
    """Another fetch holds the corpus folder's fetch lock."""
