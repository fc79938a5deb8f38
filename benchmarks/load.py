"""A bounded load run: N simulated journalists asking the real bot through a local fake Bot API.

    python -m benchmarks.load --users 8 --messages 5            # hashing embedder (fast, default)
    python -m benchmarks.load --users 4 --messages 3 --model packaged
    python -m benchmarks.load --users 8 --messages 5 --reindex  # an admin /reindex mid-run

The bot is the real one (python-telegram-bot polling loop, handlers, `NewsroomService` over an
embedded Chroma store and the BM25 index) built over a synthetic corpus in a temporary folder; only
Telegram is faked (tests/fake_bot_api.py, a real HTTP server on 127.0.0.1). Each user is closed-loop:
it sends a question, waits for the complete answer (the message that carries the keyboard), then
sends the next. Reported: throughput (answers per second over the run), latency p50/p95/max from
the update being queued to the last part of the answer, errors (the bot's apology, or a message the
Bot API rejected) and lost messages (no answer within --timeout). Target: 0 errors, 0 lost.

Not a test: numbers depend on the machine; see docs/resilience.md for recorded runs. Run with
`nice` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fake_bot_api import FakeBotApi, _ApiError, make_settings, text_message

WORDS = (
    "council budget harbour bridge ferry strike school museum flood tariff vaccine mayor election court "
    "police tram hospital airport stadium drought"
).split()
QUESTIONS = [
    "What did the council decide about the harbour bridge budget?",
    "Why did the ferry strike close the school?",
    "What happened to the museum after the flood?",
    "What did the mayor say about the tram tariff?",
    "Who won the election for the court?",
    "How did the drought affect the hospital?",
]
ADMIN_ID = 1


@dataclass(slots=True)
class Sent:
    """One `sendMessage` the bot made."""

    at: float
    chat_id: int
    text: str
    complete: bool  # carries the answer keyboard: the last part of an answer


class TimedBotApi(FakeBotApi):
    """The fake Bot API, also timestamping every message the bot sends and counting rejections."""

    def __init__(self) -> None:
        super().__init__(poll_seconds=0.2)
        self.sent: list[Sent] = []
        self.rejected: list[str] = []
        self.admin_texts: list[str] = []  # what the admin's chat shows (status message edits included)

    def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        try:
            result = super()._dispatch(method, params)
        except _ApiError as exc:
            with self._cond:
                self.rejected.append(f"{method}: {exc.description}")
            raise
        if method in ("sendMessage", "editMessageText") and int(params.get("chat_id") or 0) == ADMIN_ID:
            with self._cond:
                self.admin_texts.append(str(params.get("text", "")))
        if method == "sendMessage":
            with self._cond:
                self.sent.append(Sent(time.monotonic(), int(params["chat_id"]), str(params.get("text", "")),
                                      "reply_markup" in params))
                self._cond.notify_all()
        return result

    def wait_reply(self, chat_id: int, after: int, timeout: float) -> tuple[Sent | None, int]:
        """The first complete answer (or apology) to `chat_id` among messages sent after index `after`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self.sent)):
                    s = self.sent[i]
                    if s.chat_id == chat_id and (s.complete or s.text.startswith("Sorry")):
                        return s, i + 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, len(self.sent)
                self._cond.wait(remaining)


@dataclass(slots=True)
class UserResult:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lost: int = 0


def write_corpus(corpus_dir: Path, articles: int, seed: int) -> None:
    """Synthetic articles (one JSONL file): a few paragraphs of newsroom words each."""
    rng = random.Random(seed)
    with (corpus_dir / "articles.jsonl").open("w", encoding="utf-8") as f:
        for i in range(articles):
            body = "\n\n".join(
                f"Report {i}, part {p}. " + " ".join(rng.choice(WORDS) for _ in range(40)) + "."
                for p in range(4)
            )
            f.write(json.dumps({"id": f"load-{i}", "title": f"Load story {i}", "body": body,
                                "source": rng.choice(["Test Wire", "City Desk"]),
                                "published_at": f"2024-0{1 + i % 9}-{1 + i % 28:02d}"}) + "\n")


def run_user(api: TimedBotApi, user_id: int, messages: int, timeout: float, rng: random.Random,
             result: UserResult) -> None:
    seen = 0
    for n in range(messages):
        with api._cond:
            seen = max(seen, len(api.sent))
        started = time.monotonic()
        api.enqueue(text_message(rng.choice(QUESTIONS), user_id=user_id, message_id=n + 1))
        reply, seen = api.wait_reply(user_id, seen, timeout)
        if reply is None:
            result.lost += 1
            continue
        if reply.text.startswith("Sorry"):
            result.errors.append(reply.text[:120])
        else:
            result.latencies.append(reply.at - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def serve(api: TimedBotApi, settings, newsroom, stop: threading.Event, ready: threading.Event) -> None:
    from bot.telegram.app import ALLOWED_UPDATES, build_application, build_state

    state = build_state(settings, newsroom)
    app = build_application(settings, newsroom, state)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    ready.set()
    try:
        while not stop.is_set():
            await asyncio.sleep(0.05)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def main(argv: list[str] | None = None) -> int:
    """Run the load and print the figures (JSON with --json); exit 1 if any message erred or was lost."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--messages", type=int, default=5, help="questions per user")
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--model", choices=["hashing", "packaged"], default="hashing")
    parser.add_argument("--reindex", action="store_true", help="an admin sends /reindex once the load runs")
    parser.add_argument("--rate-limit", type=int, default=10_000,
                        help="NEWSBOT_RATE_LIMIT_PER_MINUTE (default high: measure the bot, not the limiter)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds before a message counts as lost")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from bot.wiring import build_newsroom
    from index.embedder import HashingEmbedder

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="newsbot-load-") as tmp, TimedBotApi() as api:
        root = Path(tmp)
        (root / "corpus").mkdir()
        write_corpus(root / "corpus", args.articles, args.seed)
        user_ids = list(range(100, 100 + args.users))
        settings = make_settings(
            api, root, corpus_dir=root / "corpus", allowed_user_ids=[ADMIN_ID, *user_ids],
            admin_user_ids=[ADMIN_ID], rate_limit_per_minute=args.rate_limit, llm_provider="none",
        )
        newsroom = build_newsroom(settings, embedder=HashingEmbedder() if args.model == "hashing" else None)
        t = time.monotonic()
        newsroom.reindex()
        newsroom.warm_up()
        index_seconds = time.monotonic() - t

        stop, ready = threading.Event(), threading.Event()
        loop_thread = threading.Thread(
            target=lambda: asyncio.run(serve(api, settings, newsroom, stop, ready))
        )
        loop_thread.start()
        if not ready.wait(60):
            raise SystemExit("the bot did not start")
        results = [UserResult() for _ in user_ids]
        users = [
            threading.Thread(target=run_user,
                             args=(api, uid, args.messages, args.timeout, random.Random(rng.random()), res))
            for uid, res in zip(user_ids, results, strict=True)
        ]
        started = time.monotonic()
        for u in users:
            u.start()
        if args.reindex:
            write_corpus(root / "corpus", args.articles, args.seed + 1)  # every article changes
            api.enqueue(text_message("/reindex", user_id=ADMIN_ID, message_id=1))
        for u in users:
            u.join()
        wall = time.monotonic() - started
        reindex_reply = None
        if args.reindex:  # wait for the status message's final text
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and (
                not api.admin_texts or api.admin_texts[-1].startswith("Reindexing")
            ):
                time.sleep(0.1)
            reindex_reply = api.admin_texts[-1] if api.admin_texts else None
        stop.set()
        loop_thread.join(60)

    latencies = [x for r in results for x in r.latencies]
    errors = [e for r in results for e in r.errors] + api.rejected
    lost = sum(r.lost for r in results)
    figures = {
        "users": args.users,
        "messages": args.users * args.messages,
        "answered": len(latencies),
        "errors": len(errors),
        "lost": lost,
        "wall_seconds": round(wall, 2),
        "throughput_per_s": round(len(latencies) / wall, 2) if wall else None,
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "model": args.model,
        "articles": args.articles,
        "index_seconds": round(index_seconds, 2),
        "reindex_during_load": args.reindex,
        "reindex_reply": reindex_reply,
        "error_samples": errors[:5],
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        for key, value in figures.items():
            print(f"{key:>20}: {value}")
    return 0 if not errors and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
