"""Peak RSS of one process embedding chunk-sized texts with the ONNX fp32 model, by batch size and arena.

    .venv/bin/python -m benchmarks.onnx_batch_memory ARTICLES.jsonl BATCH ARENA(0|1)

Embeds 256 texts of 1,000 characters cut from the first 40 articles; prints CPU and wall seconds
and the process's peak RSS (VmHWM). Run one process per configuration: the arena keeps its peak.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    """Entry point (see the module docstring)."""
    path, batch, arena = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
    import onnxruntime as ort

    from index import onnx_embedder

    base = ort.SessionOptions

    class Options(base):  # the embedder builds its own options; this one sets the arena
        def __init__(self) -> None:
            super().__init__()
            self.enable_cpu_mem_arena = arena

    ort.SessionOptions = Options
    embedder = onnx_embedder.OnnxEmbedder(batch_size=batch)
    texts: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line, _ in zip(fh, range(40)):
            body = json.loads(line).get("body") or ""
            texts += [body[i : i + 1000] for i in range(0, len(body), 1000)]
    texts = texts[:256]
    embedder.load()
    cpu, wall = time.process_time(), time.perf_counter()
    embedder.embed_documents(texts)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    with open("/proc/self/status", encoding="ascii") as fh:
        peak = next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM"))
    print(f"batch {batch} arena {arena}: {len(texts)} texts cpu {cpu:.1f}s wall {wall:.1f}s peak {peak} MB")


if __name__ == "__main__":
    main()
