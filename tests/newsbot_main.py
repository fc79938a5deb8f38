"""The real `newsbot` command line with the tests' stand-ins wired in, for tests that run whole processes.

    python tests/newsbot_main.py ARGS...      (what `newsbot_env.NEWSBOT` runs)

The hashing embedder replaces the model (it adds nothing to what these tests check and takes
seconds to load). `NEWSBOT_TEST_CRASH_AFTER_WRITES=N`, read here and nowhere in newsbot, makes
`index` die like SIGKILL (`os._exit(137)`, no cleanup) right after its N-th store write: the
kill test's planned crash points (tests/test_crash_safety.py).
"""

from __future__ import annotations

import os

from bot.cli import main
from bot.wiring import Wiring
from index.embedder import HashingEmbedder
from index.indexer import IndexerHooks

CRASH_AFTER_WRITES = "NEWSBOT_TEST_CRASH_AFTER_WRITES"


def crash_hooks(limit: int) -> IndexerHooks:
    """Indexer hooks that end the process like a kill right after the `limit`-th store write."""

    def crash(writes: int) -> None:
        if writes >= limit:
            os._exit(137)

    return IndexerHooks(after_write=crash)


def test_wiring() -> Wiring:
    """The hashing embedder, plus planned crashes when `NEWSBOT_TEST_CRASH_AFTER_WRITES` is set."""
    limit = os.environ.get(CRASH_AFTER_WRITES, "").strip()
    return Wiring(embedder=HashingEmbedder(), indexer_hooks=crash_hooks(int(limit)) if limit else None)


test_wiring.__test__ = False  # a helper, not a pytest test

if __name__ == "__main__":
    main(test_wiring())
