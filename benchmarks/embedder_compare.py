"""torch vs. ONNX Runtime fp32 vs. ONNX Runtime int8 embedding, side by side on the same chunks.

    nice -n 10 .venv/bin/python -m benchmarks.embedder_compare ARTICLES.jsonl [--articles 300]
        [--questions QUESTIONS.jsonl] [--slices 8] [--load-repeats 3] [--out results.json]

The first N articles are written to a temporary corpus folder, parsed with `iter_corpus`, chunked
with `chunk_article`; the texts are `embedding_text(chunk)`, exactly what the indexer embeds.

- import + load: each backend in a fresh child process (import, construct, embed one query), the
  backends interleaved, `--load-repeats` rounds; the median is reported. The ONNX files are exported
  before (export time reported separately: it is paid once per machine).
- throughput: the chunks are cut into `--slices` consecutive slices; every slice is embedded by all
  three backends in rotating order, so that load from other jobs on a shared machine falls on all
  three alike. Read the ratios, not the absolute chunks/s.
- agreement with torch: cosine of each text's vectors (mean, min), max abs difference; top-10
  neighbours of the questions (else of a seeded sample of chunks, itself excluded) in the chunk
  matrix of each backend: mean overlap with torch's top 10 and the share with the same top 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.common import (  # noqa: E402
    first_articles,
    format_table,
    load_articles,
    machine_description,
    offline_env,
    write_json,
)

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "onnx", "onnx-int8")
TOP_K = 10

_LOAD_SNIPPET = """
import time
t0 = time.perf_counter()
backend, cache_dir = {backend!r}, {cache_dir!r}
if backend == "torch":
    from index.embedder import SentenceTransformerEmbedder
    e = SentenceTransformerEmbedder()
else:
    from pathlib import Path
    from index.onnx_embedder import OnnxEmbedder
    e = OnnxEmbedder(quantized=backend == "onnx-int8", cache_dir=Path(cache_dir))
e.embed_query("Who won the election?")
print(time.perf_counter() - t0)
"""


def build_embedder(backend: str, cache_dir: Path, batch_size: int):
    """One of the three embedders (nothing loaded yet)."""
    if backend == "torch":
        from index.embedder import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(batch_size=batch_size)
    from index.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(quantized=backend == "onnx-int8", batch_size=batch_size, cache_dir=cache_dir)


def chunk_texts(articles_path: Path, n_articles: int) -> tuple[list[str], int]:
    """Embedding texts of the first `n_articles`, through the corpus parser and the chunker."""
    from index.chunking import chunk_article, embedding_text
    from index.models import Article
    from index.parsers import iter_corpus

    records = first_articles(load_articles(articles_path), n_articles)
    with tempfile.TemporaryDirectory(prefix="embedder-compare-") as tmp:
        corpus = Path(tmp)
        with open(corpus / "articles.jsonl", "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        articles = [a for a in iter_corpus(corpus) if isinstance(a, Article)]
    texts = [embedding_text(chunk) for article in articles for chunk in chunk_article(article)]
    return texts, len(articles)


def load_times(cache_dir: Path, repeats: int) -> dict[str, list[float]]:
    """Seconds from a fresh interpreter to the first query vector, per backend, interleaved."""
    times: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for r in range(repeats):
        for backend in BACKENDS[r % 3 :] + BACKENDS[: r % 3]:
            code = _LOAD_SNIPPET.format(backend=backend, cache_dir=str(cache_dir))
            out = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            )
            times[backend].append(float(out.stdout.strip().splitlines()[-1]))
    return times


def interleaved_throughput(embedders: dict[str, Any], texts: Sequence[str], slices: int):
    """Embed every slice with every backend in rotating order; total seconds and the vectors."""
    seconds = {b: 0.0 for b in embedders}
    parts: dict[str, list[np.ndarray]] = {b: [] for b in embedders}
    bounds = np.linspace(0, len(texts), slices + 1).astype(int)
    names = list(embedders)
    for i in range(slices):
        part = list(texts[bounds[i] : bounds[i + 1]])
        for backend in names[i % len(names) :] + names[: i % len(names)]:
            t0 = time.perf_counter()
            parts[backend].append(embedders[backend].embed_documents(part))
            seconds[backend] += time.perf_counter() - t0
        print(f"  slice {i + 1}/{slices} done", file=sys.stderr, flush=True)
    return seconds, {b: np.vstack(v) for b, v in parts.items()}


def top_k(queries: np.ndarray, matrix: np.ndarray, exclude: np.ndarray | None, k: int = TOP_K) -> np.ndarray:
    """Indices of the k nearest rows of `matrix` (dot product) for each query, best first."""
    scores = queries @ matrix.T
    if exclude is not None:
        scores[np.arange(len(queries)), exclude] = -np.inf
    idx = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, idx, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(idx, order, axis=1)


def neighbour_agreement(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Mean share of torch's top 10 also in the other top 10, and the share with the same top 1."""
    overlap = [len(set(a) & set(b)) / reference.shape[1] for a, b in zip(reference, other, strict=True)]
    return {
        "top10_overlap_mean": float(np.mean(overlap)),
        "top10_overlap_min": float(np.min(overlap)),
        "same_top1": float(np.mean(reference[:, 0] == other[:, 0])),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run the comparison and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", type=Path)
    parser.add_argument("--articles", dest="n_articles", type=int, default=300)
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--query-sample", type=int, default=200, help="chunks used as queries without --questions")
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--load-repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cache-dir", type=Path, help="ONNX export cache (default ~/.cache/newsbot/onnx)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    offline_env()
    from index.onnx_embedder import default_cache_dir, ensure_onnx_model
    from index.embedder import resolve_model_path, PACKAGED_MODEL

    cache_dir = args.cache_dir or default_cache_dir()
    texts, n_articles = chunk_texts(args.articles, args.n_articles)
    print(f"{n_articles} articles, {len(texts)} chunks; {machine_description()}", file=sys.stderr)

    model_dir = Path(resolve_model_path(PACKAGED_MODEL))
    t0 = time.perf_counter()
    ensure_onnx_model(model_dir, cache_dir, quantized=True)  # both files
    export_seconds = time.perf_counter() - t0

    print("import + load (fresh processes)...", file=sys.stderr, flush=True)
    loads = load_times(cache_dir, args.load_repeats)

    embedders = {b: build_embedder(b, cache_dir, args.batch_size) for b in BACKENDS}
    for e in embedders.values():
        e.embed_query("warm up")
    print("throughput (interleaved slices)...", file=sys.stderr, flush=True)
    seconds, vectors = interleaved_throughput(embedders, texts, args.slices)

    if args.questions:
        questions = [json.loads(line)["question"] for line in args.questions.read_text("utf-8").splitlines() if line.strip()]
        queries = {b: e.embed_documents(questions) for b, e in embedders.items()}
        exclude = None
        query_desc = f"{len(questions)} questions"
    else:
        sample = np.array(sorted(random.Random(0).sample(range(len(texts)), min(args.query_sample, len(texts)))))
        queries = {b: vectors[b][sample] for b in BACKENDS}
        exclude = sample
        query_desc = f"{len(sample)} sampled chunks (themselves excluded)"
    ref_top = top_k(queries["torch"], vectors["torch"], exclude)

    rows, results = [], {}
    for b in BACKENDS:
        cos = (vectors[b] * vectors["torch"]).sum(axis=1)
        qcos = (queries[b] * queries["torch"]).sum(axis=1)
        agreement = neighbour_agreement(ref_top, top_k(queries[b], vectors[b], exclude))
        results[b] = {
            "chunks_per_s": len(texts) / seconds[b],
            "speedup_vs_torch": seconds["torch"] / seconds[b],
            "load_s_median": statistics.median(loads[b]),
            "load_s": loads[b],
            "cos_mean": float(cos.mean()),
            "cos_min": float(cos.min()),
            "max_abs_diff": float(np.abs(vectors[b] - vectors["torch"]).max()),
            "query_cos_mean": float(qcos.mean()),
            **agreement,
        }
        r = results[b]
        rows.append([b, r["chunks_per_s"], r["speedup_vs_torch"], r["load_s_median"], f"{r['cos_mean']:.6f}",
                     f"{r['cos_min']:.6f}",
                     f"{r['max_abs_diff']:.1e}", r["top10_overlap_mean"], r["same_top1"]])
    print(f"{n_articles} articles, {len(texts)} chunks, batch {args.batch_size}, {args.slices} interleaved slices; "
          f"neighbours of {query_desc}; one-off export {export_seconds:.1f} s")
    print(machine_description())
    print(format_table(
        ["backend", "chunks/s", "x torch", "load s", "cos mean", "cos min", "max |diff|", "top10 overlap", "same top1"],
        rows,
    ))
    write_json(args.out, {"articles": n_articles, "chunks": len(texts), "queries": query_desc,
                          "export_seconds": export_seconds, "machine": machine_description(), "results": results})


if __name__ == "__main__":
    main()
