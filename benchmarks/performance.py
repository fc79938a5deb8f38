"""Indexing throughput, memory, disk and query latency: the encode floor vs. ours vs. the LangChain tutorial.

    nice -n 10 .venv/bin/python -m benchmarks.performance ARTICLES.jsonl [--articles 300 | --full]
        [--questions QUESTIONS.jsonl] [--asks 50] [--out results.json]

One run, the same articles (the first N of the file, or all with --full), each stage in its own
child process so that peak RSS (`ru_maxrss` of the child) and import/model-load costs are its own:

- `floor`:    raw `SentenceTransformer.encode` over our chunks' embedding texts (batch = our setting):
              the fastest any pipeline with this model and these chunks can embed.
- `ours`:     `Newsroom.reindex` (what `newsbot index` runs: parse, chunk, embed, Chroma, lexical index)
              into an empty data dir with no embedding cache; then the same reindex again with nothing
              changed (in-process) and `newsbot index` as a fresh process with nothing changed.
              Time inside the embedder (model.encode) is measured by a wrapper, the model is loaded first.
- `serve`:    a fresh process opens the index, asks the questions (warm, extractive answerer):
              ask latency p50/p95 and the resident memory of a serving process with the index loaded.
- `tutorial`: RecursiveCharacterTextSplitter(1000/200) → HuggingFaceEmbeddings (batch 32) →
              Chroma.from_documents (persistent) as a user runs it, no cache; then top-50 query latency.

Questions for the latency stages come from --questions, else the article titles are asked.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.common import (  # noqa: E402
    current_rss_mb,
    dir_size_mb,
    first_articles,
    format_table,
    load_articles,
    machine_description,
    offline_env,
    peak_rss_mb,
    write_json,
)
from bot.evaluation import percentile  # noqa: E402
from index.embedder import Embedder  # noqa: E402

STAGES = ("ours", "serve", "floor", "tutorial")
RESULT_PREFIX = "RESULT "
_STARTED = time.perf_counter()


# --- stages (each runs in a child process) ---------------------------------------------------------


class TimedEmbedder(Embedder):
    """Forwards to an embedder and adds up the wall time spent inside `embed_documents`."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0
        self.texts = 0

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    def embed_documents(self, texts, progress=None):
        start = time.perf_counter()
        try:
            return self.inner.embed_documents(texts, progress=progress)
        finally:
            self.seconds += time.perf_counter() - start
            self.texts += len(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def _our_chunk_texts(corpus_dir: Path) -> tuple[int, list[str]]:
    """Articles and the embedding texts of their chunks, exactly as our indexer builds them."""
    from index.chunking import DEFAULT_CONFIG, chunk_article, embedding_text
    from index.models import Skip
    from index.parsers import iter_corpus

    articles = [a for a in iter_corpus(corpus_dir) if not isinstance(a, Skip)]
    texts = [embedding_text(c, DEFAULT_CONFIG) for a in articles for c in chunk_article(a, DEFAULT_CONFIG)]
    return len(articles), texts


def stage_floor(workdir: Path) -> dict[str, Any]:
    """Raw `SentenceTransformer.encode` over our chunk texts."""
    from benchmarks.ours import make_settings
    from index.embedder import resolve_model_path

    settings = make_settings(workdir)
    n_articles, texts = _our_chunk_texts(settings.corpus_dir)

    t = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model_path(settings.embedding_model), device="cpu")
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True, show_progress_bar=False)
    encode_s = time.perf_counter() - t
    return {
        "articles": n_articles,
        "chunks": len(texts),
        "model_load_s": load_s,
        "seconds": encode_s,
        "batch_size": settings.embedding_batch_size,
    }


def stage_ours(workdir: Path) -> dict[str, Any]:
    """`Newsroom.reindex` from empty (no cache), then a no-change reindex in the same process."""
    from benchmarks.ours import make_settings
    from bot.wiring import build_embedder, build_newsroom

    settings = make_settings(workdir)
    t = time.perf_counter()
    embedder = TimedEmbedder(build_embedder(settings))
    embedder.inner.embed_query("warm up the model")
    load_s = time.perf_counter() - t
    newsroom = build_newsroom(settings, embedder=embedder)
    t = time.perf_counter()
    report = newsroom.reindex(settings.corpus_dir)
    index_s = time.perf_counter() - t
    encode_s = embedder.seconds
    t = time.perf_counter()
    again = newsroom.reindex(settings.corpus_dir)
    noop_s = time.perf_counter() - t
    return {
        "articles": report.added,
        "skipped": len(report.skipped),
        "chunks": report.chunks,
        "model_load_s": load_s,
        "seconds": index_s,
        "encode_seconds": encode_s,
        "noop_reindex_s": noop_s,
        "noop_unchanged": again.unchanged,
        "noop_embedded": again.embedded_chunks,
        "store_mb": dir_size_mb(settings.data_dir),
        "process_s": time.perf_counter() - _STARTED,
    }


def _questions(workdir: Path, limit: int) -> list[str]:
    path = workdir / "questions.txt"
    return [q for q in path.read_text(encoding="utf-8").splitlines() if q.strip()][:limit]


def stage_serve(workdir: Path, asks: int) -> dict[str, Any]:
    """A serving process: open the index, ask once to warm up, then time each ask."""
    from benchmarks.ours import make_settings
    from bot.wiring import build_newsroom

    settings = make_settings(workdir)
    rss_before = current_rss_mb()
    t = time.perf_counter()
    newsroom = build_newsroom(settings)
    questions = _questions(workdir, asks)
    first = newsroom.ask(questions[0])
    first_s = time.perf_counter() - t
    latencies = []
    for q in questions:
        t = time.perf_counter()
        newsroom.ask(q)
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "asks": len(latencies),
        "startup_to_first_answer_s": first_s,
        "first_answerer": first.answerer,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "rss_mb": current_rss_mb(),
        "rss_before_mb": rss_before,
    }


def stage_tutorial(workdir: Path, asks: int) -> dict[str, Any]:
    """The LangChain tutorial pipeline as a user runs it (no cache), then top-50 query latency."""
    from benchmarks.baselines import TutorialPipeline, tutorial_embeddings, tutorial_split

    t0 = time.perf_counter()
    articles = load_articles(workdir / "corpus" / "articles.jsonl")
    docs = tutorial_split(articles)
    split_s = time.perf_counter() - t0
    t = time.perf_counter()
    embeddings = tutorial_embeddings()
    embeddings.embed_query("warm up the model")
    load_s = time.perf_counter() - t
    persist = workdir / "tutorial-chroma"
    encode_s = 0.0
    inner_embed = embeddings.embed_documents

    def timed(texts: list[str]) -> list[list[float]]:
        nonlocal encode_s
        start = time.perf_counter()
        try:
            return inner_embed(texts)
        finally:
            encode_s += time.perf_counter() - start

    object.__setattr__(embeddings, "embed_documents", timed)  # pydantic model: bypass validation
    t = time.perf_counter()
    pipeline = TutorialPipeline(docs, embeddings, persist)
    index_s = time.perf_counter() - t
    questions = _questions(workdir, asks)
    pipeline.search(questions[0])
    latencies = []
    for q in questions:
        t = time.perf_counter()
        pipeline.search(q)
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "articles": len(articles),
        "chunks": pipeline.chunks,
        "split_s": split_s,
        "model_load_s": load_s,
        "seconds": split_s + index_s,
        "encode_seconds": encode_s,
        "store_mb": dir_size_mb(persist),
        "query_p50_ms": percentile(latencies, 50),
        "query_p95_ms": percentile(latencies, 95),
        "rss_after_index_mb": current_rss_mb(),
        "process_s": time.perf_counter() - _STARTED,
    }


def run_stage(stage: str, workdir: Path, asks: int) -> dict[str, Any]:
    """Run one stage here and add this process's peak RSS."""
    offline_env()
    if stage == "floor":
        result = stage_floor(workdir)
    elif stage == "ours":
        result = stage_ours(workdir)
    elif stage == "serve":
        result = stage_serve(workdir, asks)
    elif stage == "tutorial":
        result = stage_tutorial(workdir, asks)
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# --- the parent --------------------------------------------------------------------------------------


def _child(stage: str, workdir: Path, asks: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.performance", "--stage", stage, "--workdir", str(workdir), "--asks", str(asks)]
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"stage {stage} failed (exit {proc.returncode}); see its stderr above")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    result["child_wall_s"] = wall
    return result


def _cli_noop_index(workdir: Path) -> float:
    """`newsbot index` as a fresh process when nothing changed (imports + scan + compare)."""
    exe = Path(sys.executable).with_name("newsbot")
    env = dict(
        os.environ,
        NEWSBOT_CORPUS_DIR=str(workdir / "corpus"),
        NEWSBOT_DATA_DIR=str(workdir / "data"),
        NEWSBOT_EMBEDDING_CACHE="false",
        NEWSBOT_LLM_PROVIDER="none",
    )
    env.pop("NEWSBOT_CHROMA_HOST", None)
    t = time.perf_counter()
    proc = subprocess.run([str(exe), "index"], cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(f"newsbot index (no change) exited {proc.returncode}: {proc.stderr.strip()[-500:]}", file=sys.stderr)
    return wall


def _prepare(workdir: Path, articles_path: Path, n: int | None, questions_path: Path | None) -> int:
    from benchmarks.ours import write_corpus

    articles = first_articles(load_articles(articles_path), n)
    write_corpus(articles, workdir / "corpus")
    if questions_path is not None:
        from bot.evaluation import load_questions

        questions = [q.question for q in load_questions(questions_path)]
    else:
        questions = [a.title for a in articles if a.title.strip()]
    (workdir / "questions.txt").write_text("\n".join(q.replace("\n", " ") for q in questions) + "\n", encoding="utf-8")
    return len(articles)


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


def report(results: dict[str, dict[str, Any]], n_articles: int) -> str:
    """The side-by-side table, ratios and where our indexing time goes."""
    floor, ours, serve, tut = (results.get(s) for s in ("floor", "ours", "serve", "tutorial"))
    rows = []
    if floor:
        rows.append(["encode floor (our chunks)", floor["chunks"], floor["seconds"], _rate(floor["chunks"], floor["seconds"]),
                     _rate(floor["articles"], floor["seconds"]), floor["peak_rss_mb"], None])  # fmt: skip
    if ours:
        rows.append(["ours: newsbot index", ours["chunks"], ours["seconds"], _rate(ours["chunks"], ours["seconds"]),
                     _rate(ours["articles"], ours["seconds"]), ours["peak_rss_mb"], ours["store_mb"]])  # fmt: skip
    if tut:
        rows.append(["LangChain tutorial", tut["chunks"], tut["seconds"], _rate(tut["chunks"], tut["seconds"]),
                     _rate(tut["articles"], tut["seconds"]), tut["peak_rss_mb"], tut["store_mb"]])  # fmt: skip
    out = [
        f"{n_articles} articles; {machine_description()}; load average {os.getloadavg()[0]:.1f} at the end",
        "(wall time excludes process start and model load, reported separately)",
        format_table(["indexing", "chunks", "wall s", "chunks/s", "articles/s", "peak RSS MB", "disk MB"], rows),
        "",
    ]
    if ours:
        rest = ours["seconds"] - ours["encode_seconds"]
        out.append(
            f"ours: {ours['encode_seconds']:.1f} s of {ours['seconds']:.1f} s inside the embedder "
            f"({100 * ours['encode_seconds'] / ours['seconds']:.0f}%), {rest:.1f} s parse/chunk/store/lexical; "
            f"model load {ours['model_load_s']:.1f} s; no-change reindex {ours['noop_reindex_s']:.2f} s in-process "
            f"({ours['noop_unchanged']} unchanged, {ours['noop_embedded']} embedded)"
            + (f", {results['cli_noop_s']:.1f} s as a fresh `newsbot index` process" if "cli_noop_s" in results else "")
        )
    if tut:
        out.append(
            f"tutorial: {tut['encode_seconds']:.1f} s of {tut['seconds']:.1f} s inside embed_documents "
            f"({100 * tut['encode_seconds'] / tut['seconds']:.0f}%); model load {tut['model_load_s']:.1f} s; "
            f"query (top-50) p50 {tut['query_p50_ms']:.1f} ms, p95 {tut['query_p95_ms']:.1f} ms"
        )
    if serve:
        out.append(
            f"ours serving: ask p50 {serve['p50_ms']:.1f} ms, p95 {serve['p95_ms']:.1f} ms over {serve['asks']} warm asks "
            f"({serve['first_answerer']} answerer); RSS with the index loaded {serve['rss_mb']:.0f} MB "
            f"(peak {serve['peak_rss_mb']:.0f} MB); open + first answer {serve['startup_to_first_answer_s']:.1f} s"
        )
    ratios = []
    if ours and floor:
        ratios.append(f"ours vs. floor: {ours['seconds'] / floor['seconds']:.2f}x the wall time "
                      f"({_rate(ours['chunks'], ours['seconds']) / _rate(floor['chunks'], floor['seconds']):.2f}x the chunks/s)")  # fmt: skip
    if ours and tut:
        ratios.append(f"ours vs. tutorial: {ours['seconds'] / tut['seconds']:.2f}x the wall time, "
                      f"{_rate(ours['articles'], ours['seconds']) / _rate(tut['articles'], tut['seconds']):.2f}x the articles/s, "
                      f"{ours['peak_rss_mb'] / tut['peak_rss_mb']:.2f}x the peak RSS, {ours['store_mb'] / tut['store_mb']:.2f}x the disk, "
                      f"{ours['chunks'] / tut['chunks']:.2f}x the chunks")  # fmt: skip
    if serve and tut:
        ratios.append(f"ask p50 (retrieve + answer) vs. tutorial top-50 search p50: {serve['p50_ms'] / tut['query_p50_ms']:.2f}x")
    if ratios:
        out += ["", "ratios:", *(f"  {r}" for r in ratios)]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the parent runs every stage in a child and prints the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("articles", type=Path, nargs="?", help="articles JSONL")
    parser.add_argument("--articles", dest="n_articles", type=int, default=300, help="first N articles (default 300)")
    parser.add_argument("--full", action="store_true", help="all articles of the file")
    parser.add_argument("--questions", type=Path, default=None, help="questions JSONL for the latency stages")
    parser.add_argument("--asks", type=int, default=50, help="questions asked per latency stage (default 50)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {STAGES}")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the indexes here (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="write the raw figures as JSON here")
    parser.add_argument("--stage", default=None, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args(argv)

    if args.stage:
        result = run_stage(args.stage, args.workdir, args.asks)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return 0
    if args.articles is None:
        parser.error("ARTICLES.jsonl is required")
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    if set(stages) - set(STAGES):
        parser.error(f"unknown stages: {sorted(set(stages) - set(STAGES))}")
    if "serve" in stages and "ours" not in stages:
        parser.error("the serve stage needs the ours stage (it serves that index)")

    with tempfile.TemporaryDirectory(prefix="newsbot-perf-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        n = _prepare(workdir, args.articles, None if args.full else args.n_articles, args.questions)
        print(f"{n} articles; stages {stages}; workdir {workdir}", file=sys.stderr)
        results: dict[str, Any] = {}
        for stage in STAGES:
            if stage not in stages:
                continue
            print(f"stage {stage} ...", file=sys.stderr, flush=True)
            results[stage] = _child(stage, workdir, args.asks)
            print(f"  {json.dumps(results[stage])}", file=sys.stderr, flush=True)
            if stage == "ours":
                results["cli_noop_s"] = _cli_noop_index(workdir)
        print(report(results, n))
        write_json(args.out, {"articles": n, "machine": machine_description(), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
