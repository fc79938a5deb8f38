"""Error types shared by the index layer; `bot.core` re-exports them to the interfaces."""

from __future__ import annotations


class BackendUnavailable(RuntimeError):
    """A backend the command needs could not be used: the store, the embedding model, a data folder.

    The message is one line naming what failed (and where), fit to show a user as it is.
    """
