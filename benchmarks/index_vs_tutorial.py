"""`newsbot index` against the LangChain tutorial pipeline, whole processes alternated in one run.

    make bench-deps
    nice .venv/bin/python -m benchmarks.index_vs_tutorial ARTICLES.jsonl [--articles 150] [--runs 3]
        [--seed 0] [--out results.json]

The same N articles (drawn with `random.Random(seed)`) are indexed by

- **ours**: a fresh `newsbot index` process with default settings (no `.env`), a fresh data dir
  each run and no embedding cache (`NEWSBOT_EMBEDDING_CACHE=false`): parse, chunk, embed with
  ONNX Runtime, Chroma, the BM25 side index, and whatever else `newsbot index` does by default;
- **tutorial**: a fresh process running RecursiveCharacterTextSplitter(1000, 200) →
  HuggingFaceEmbeddings (batch 32, torch) → `Chroma.from_documents`, a fresh folder each run.

One warm-up pair (not counted), then `--runs` counted pairs in alternating order (A B, B A, …),
so a load that drifts during the run falls on both. Each process is measured from outside:
wall time, CPU seconds (user + system, from `wait4`) and peak RSS (`ru_maxrss`, that process
alone: neither pipeline starts workers). The ONNX export must already be cached
(~/.cache/newsbot/onnx, made by any earlier `newsbot` run); the script checks and says so.
Prints each run, the medians, the ratios tutorial/ours (wall, CPU per article) and ours/tutorial
(peak RSS), plus the load average before and after: quote all of it with the command.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

from benchmarks.common import format_table, load_articles, machine_description, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ("ours", "tutorial")


@dataclass(slots=True)
class Measured:
    """One child process, measured from outside."""

    pipeline: str
    run: int  # 0 = warm-up
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    chunks: int


def pick_articles(articles_path: Path, n: int, seed: int, corpus_dir: Path) -> int:
    """Write N seeded-random articles as `corpus_dir/articles.jsonl`; returns how many were written."""
    articles = load_articles(articles_path)
    chosen = random.Random(seed).sample(articles, min(n, len(articles)))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    with open(corpus_dir / "articles.jsonl", "w", encoding="utf-8") as fh:
        for a in chosen:
            fh.write(json.dumps(a.to_json(), ensure_ascii=False) + "\n")
    return len(chosen)


def child_env(**extra: str) -> dict[str, str]:
    """This environment without NEWSBOT_ settings, offline, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT), **extra)
    return env


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, str]:
    """Run `cmd` to the end: (wall s, CPU s, peak RSS MB, stdout); a failure stops the benchmark."""
    out_path = cwd / "stdout.txt"
    with open(out_path, "w", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        stderr = proc.stderr.read() if proc.stderr else ""
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out_path.read_text(encoding="utf-8")


def run_ours(corpus_dir: Path, work: Path) -> tuple[float, float, float, int]:
    data_dir = work / "data"
    env = child_env(NEWSBOT_CORPUS_DIR=str(corpus_dir), NEWSBOT_DATA_DIR=str(data_dir), NEWSBOT_EMBEDDING_CACHE="false")
    cmd = [sys.executable, "-m", "bot.cli", "index", "--json"]
    wall, cpu, rss, out = measure(cmd, env, work)
    return wall, cpu, rss, int(json.loads(out)["chunks"])


def run_tutorial(corpus_dir: Path, work: Path) -> tuple[float, float, float, int]:
    cmd = [sys.executable, "-m", "benchmarks.index_vs_tutorial", "--tutorial-child", str(corpus_dir), str(work / "chroma")]
    wall, cpu, rss, out = measure(cmd, child_env(), work)
    return wall, cpu, rss, int(out.strip().splitlines()[-1])


def tutorial_child(corpus_dir: Path, persist: Path) -> None:
    """The tutorial pipeline as a user runs it; prints the number of chunks."""
    from benchmarks.baselines import TutorialPipeline, tutorial_embeddings, tutorial_split

    docs = tutorial_split(load_articles(corpus_dir / "articles.jsonl"))
    pipeline = TutorialPipeline(docs, tutorial_embeddings(), persist)
    print(pipeline.chunks)


def load_average() -> str:
    """The 1/5/15-minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def onnx_export_cached() -> bool:
    """True when some ONNX export of the model exists (a first export would be timed as indexing)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsbot" / "onnx"
    return any(cache.glob("*/model.onnx"))


def main() -> None:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("articles", type=Path, nargs="?", help="the articles JSONL file")
    parser.add_argument("--articles", dest="n", type=int, default=150, help="articles to index (default 150)")
    parser.add_argument("--runs", type=int, default=3, help="counted runs per pipeline (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--tutorial-child", nargs=2, type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tutorial_child:
        tutorial_child(*args.tutorial_child)
        return
    if args.articles is None:
        parser.error("the articles JSONL file is required")
    if not onnx_export_cached():
        raise SystemExit("no ONNX export in ~/.cache/newsbot/onnx yet: run any `newsbot ask` once first")

    runners = {"ours": run_ours, "tutorial": run_tutorial}
    load_before = load_average()
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="newsbot-vs-tutorial-") as tmp:
        base = Path(tmp)
        n = pick_articles(args.articles, args.n, args.seed, base / "corpus")
        for run in range(args.runs + 1):  # run 0 is the warm-up pair
            order = PIPELINES if run % 2 == 0 else PIPELINES[::-1]
            for name in order:
                work = base / f"{name}-{run}"
                work.mkdir()
                wall, cpu, rss, chunks = runners[name](base / "corpus", work)
                results.append(Measured(name, run, wall, cpu, rss, chunks))
                print(f"run {run} {name:<8} wall {wall:7.1f} s  cpu {cpu:7.1f} s  peak {rss:7.0f} MB  {chunks} chunks",
                      file=sys.stderr, flush=True)
                shutil.rmtree(work)
    load_after = load_average()

    counted = [m for m in results if m.run > 0]
    med = {
        name: {
            key: statistics.median(getattr(m, key) for m in counted if m.pipeline == name)
            for key in ("wall_s", "cpu_s", "peak_rss_mb")
        }
        for name in PIPELINES
    }
    chunks = {name: next(m.chunks for m in counted if m.pipeline == name) for name in PIPELINES}
    rows = [
        [name, chunks[name], med[name]["wall_s"], med[name]["cpu_s"], med[name]["peak_rss_mb"],
         n / med[name]["wall_s"]]
        for name in PIPELINES
    ]
    ratios = {
        "tutorial/ours wall": med["tutorial"]["wall_s"] / med["ours"]["wall_s"],
        "tutorial/ours CPU": med["tutorial"]["cpu_s"] / med["ours"]["cpu_s"],
        "ours/tutorial peak RSS": med["ours"]["peak_rss_mb"] / med["tutorial"]["peak_rss_mb"],
    }
    print(f"{n} articles, {args.runs} counted runs each (alternated, after one warm-up pair), seed {args.seed}")
    print(f"machine: {machine_description()}")
    print(f"load average before: {load_before}; after: {load_after}")
    print(format_table(["pipeline (median)", "chunks", "wall s", "CPU s", "peak RSS MB", "articles/s"], rows))
    for label, value in ratios.items():
        print(f"{label}: {value:.2f}×")
    write_json(args.out, {
        "articles": n, "runs": args.runs, "seed": args.seed, "load_before": load_before, "load_after": load_after,
        "medians": med, "ratios": ratios, "measured": [asdict(m) for m in results],
    })


if __name__ == "__main__":
    main()
