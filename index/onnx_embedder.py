"""Text → vectors with ONNX Runtime: the sentence-transformers pipeline without importing torch.

The model folder's transformer is exported to ONNX once (that step imports torch and transformers,
lazily) and cached; afterwards only `onnxruntime` and `tokenizers` are imported, which starts in a
fraction of a second instead of the ~9 s that importing sentence-transformers costs.

The pipeline reproduces the folder's sentence-transformers modules: the tokenizer truncated to the
`max_seq_length` of sentence_bert_config.json (the packaged tokenizer.json itself says 128 and fixed
padding, which sentence-transformers overrides), mean pooling over the attention mask, L2
normalisation. Texts are embedded longest first, as sentence-transformers does, so that a batch
holds texts of similar length and pads little.

fp32 vectors match the torch ones to ~1e-6 (see docs/onnx.md), so the fp32 embedder keeps the torch
embedder's `name` and an index built with either serves the other. int8 (dynamic quantization of
the weights) moves vectors enough to change neighbours, so it has its own name and switching to it
re-embeds the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedder import PACKAGED_MODEL, Embedder, EmbedderError, model_display_name, resolve_model_path

INT8_SUFFIX = "+onnx-int8"
# Part of the cache key: bump when the export (inputs, opset, attention implementation) changes.
EXPORT_VERSION = "1"
OPSET = 17
_MODEL_FILES = ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json")


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """What the model folder's sentence-transformers modules say about tokenising and pooling."""

    max_seq_length: int
    dim: int


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/newsbot/onnx` (default `~/.cache/newsbot/onnx`)."""
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "newsbot" / "onnx"


def read_pipeline_config(model_dir: Path) -> PipelineConfig:
    """Check that the folder is Transformer → mean Pooling (→ Normalize) and read its sizes.

    Raises `EmbedderError` for any other module stack: this backend would silently compute
    different vectors for it.
    """
    modules_path = model_dir / "modules.json"
    if modules_path.exists():
        modules = json.loads(modules_path.read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]):
            raise EmbedderError(f"the onnx backend supports Transformer+Pooling(+Normalize) models, not {kinds}")
        pooling_dir = model_dir / next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        if modes != ["pooling_mode_mean_tokens"]:
            raise EmbedderError(f"the onnx backend supports mean pooling only, not {modes}")
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    st_config_path = model_dir / "sentence_bert_config.json"
    st_config = json.loads(st_config_path.read_text(encoding="utf-8")) if st_config_path.exists() else {}
    positions = int(config.get("max_position_embeddings", 512))
    max_seq = int(st_config.get("max_seq_length") or positions)
    return PipelineConfig(max_seq_length=min(max_seq, positions), dim=int(config["hidden_size"]))


def model_cache_key(model_dir: Path) -> str:
    """A short hash of the model folder's weights/config/tokenizer (path, size, mtime) and the export version.

    File stats rather than contents: hashing 90 MB of weights would cost more than loading them.
    """
    h = hashlib.sha256(f"v{EXPORT_VERSION}-opset{OPSET}\n{model_dir.resolve()}\n".encode())
    for name in _MODEL_FILES:
        path = model_dir / name
        if path.exists():
            st = path.stat()
            h.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def export_onnx(model_dir: Path, out_path: Path) -> None:
    """Export the folder's transformer (token embeddings out) to `out_path`, atomically.

    Eager attention and a padded example batch: the SDPA path of transformers skips building the
    padding mask when the example mask is all ones, which tracing would freeze into the graph.
    """
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    ids = torch.tensor([[101, 7592, 2088, 1012, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, "token_embeddings"]}
    with _temp_beside(out_path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant-folded shape checks
        torch.onnx.export(
            TokenEmbeddings(model),
            (ids, mask, torch.zeros_like(ids)),
            str(tmp),
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
        os.replace(tmp, out_path)


def quantize_int8(fp32_path: Path, out_path: Path) -> None:
    """Dynamic int8 quantization of the weights (activations quantized at run time), atomically.

    Per-channel weight scales: with one scale per tensor the mean cosine to fp32 on news chunks
    was 0.95 (min 0.90); per channel it is 0.99 at the same speed (docs/onnx.md).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _temp_beside(out_path) as tmp:
        quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, out_path)


class _temp_beside:
    """A temporary file name in the target's folder (same filesystem, so `os.replace` is atomic); removed on failure."""

    def __init__(self, target: Path):
        self.target = target

    def __enter__(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent)
        os.close(fd)
        self.path = Path(name)
        return self.path

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def ensure_onnx_model(model_dir: Path, cache_dir: Path, *, quantized: bool) -> Path:
    """The cached .onnx file for this model folder, exported (and quantized) on first use.

    A file lock makes concurrent first uses export once; the others wait and reuse the file.
    """
    from filelock import FileLock

    folder = cache_dir / model_cache_key(model_dir)
    fp32 = folder / "model.onnx"
    int8 = folder / "model-int8.onnx"
    target = int8 if quantized else fp32
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "export.lock")):
        if not fp32.exists():
            try:
                export_onnx(model_dir, fp32)
            except Exception as exc:
                raise EmbedderError(f"could not export {model_dir} to ONNX: {exc}") from exc
        if quantized and not int8.exists():
            quantize_int8(fp32, int8)
    return target


class OnnxEmbedder(Embedder):
    """The sentence-transformers model run by ONNX Runtime, fp32 or dynamically quantized int8.

    Nothing is loaded until the first embedding; the first use on a machine exports the model
    into `cache_dir` (default `default_cache_dir()`), which needs torch once.

    `threads` (default: one per core) is how many batches run at once, each in its own
    single-threaded session: with batches of a few passages, splitting every operator over two
    threads costs ~12 % more CPU than running two batches side by side (docs/benchmarks.md).
    A query uses one session; the others open on the first call with more than one batch.
    """

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        *,
        quantized: bool = False,
        batch_size: int = 4,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ):
        self.quantized = quantized
        self.name = model_display_name(model) + (INT8_SUFFIX if quantized else "")
        self._model = model
        self._batch_size = batch_size
        self._cache_dir = cache_dir or default_cache_dir()
        self._threads = threads or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._workers: list[tuple[object, object]] = []  # (session, tokenizer); the first serves queries
        self._input_names: list[str] = []
        self.onnx_path: Path | None = None
        self.dim = 0

    def _model_dir(self) -> Path:
        path = Path(resolve_model_path(self._model))
        if path.is_dir():
            return path
        try:  # a hub name: only the local Hugging Face cache, never the network
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(str(path), local_files_only=True))
        except Exception as exc:
            raise EmbedderError(
                f"embedding model {self.name!r} is not a local folder nor in the Hugging Face cache: {exc}"
            ) from exc

    def load(self) -> None:
        """Export if needed, then open the tokenizer and the inference session (idempotent)."""
        with self._lock:
            if self._workers:
                return
            from tokenizers import Tokenizer

            model_dir = self._model_dir()
            config = read_pipeline_config(model_dir)
            onnx_path = ensure_onnx_model(model_dir, self._cache_dir, quantized=self.quantized)
            tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=config.max_seq_length)
            pad_id = tokenizer.token_to_id("[PAD]")
            tokenizer.enable_padding(pad_id=pad_id or 0, pad_token="[PAD]" if pad_id is not None else "<pad>")
            session = _open_session(onnx_path)
            self._input_names = [i.name for i in session.get_inputs()]
            self.onnx_path = onnx_path
            self.dim = config.dim
            self._workers = [(session, tokenizer)]

    def _open_workers(self) -> list[tuple[object, object]]:
        """One (session, tokenizer) pair per thread, the extra ones opened on first use."""
        with self._lock:
            while len(self._workers) < self._threads:
                self._workers.append((_open_session(self.onnx_path), _copy_tokenizer(self._workers[0][1])))
            return list(self._workers)

    def _embed_batch(self, texts: list[str], worker: tuple[object, object] | None = None) -> np.ndarray:
        session, tokenizer = worker or self._workers[0]
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (tokens,) = session.run(["token_embeddings"], feed)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed_documents(self, texts: Sequence[str], progress=None) -> np.ndarray:
        self.load()
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = [str(t) for t in texts]
        # Longest first, like sentence-transformers: batches of similar lengths pad little.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = [order[i : i + self._batch_size] for i in range(0, len(texts), self._batch_size)]
        if len(batches) == 1 or self._threads == 1:
            for idx in batches:
                out[idx] = self._embed_batch([texts[j] for j in idx])
                if progress:
                    progress(len(idx))
            return out
        self._embed_in_parallel(texts, batches, out, progress)
        return out

    def _embed_in_parallel(self, texts: list[str], batches: list[np.ndarray], out: np.ndarray, progress) -> None:
        """Worker k embeds batches k, k+n, k+2n, …; progress is reported from the calling thread."""
        workers = self._open_workers()
        done: queue.Queue[int | BaseException | None] = queue.Queue()

        def run(k: int) -> None:
            try:
                for idx in batches[k :: len(workers)]:
                    out[idx] = self._embed_batch([texts[j] for j in idx], workers[k])
                    done.put(len(idx))
                done.put(None)
            except BaseException as exc:  # handed to the caller's thread below
                done.put(exc)

        threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(len(workers))]
        for t in threads:
            t.start()
        failure: BaseException | None = None
        finished = 0
        while finished < len(threads):
            item = done.get()
            if item is None or isinstance(item, BaseException):
                finished += 1
                failure = failure or item
            elif progress and failure is None:
                progress(item)
        for t in threads:
            t.join()
        if failure is not None:
            raise failure


def _open_session(onnx_path: Path):
    """A single-threaded ONNX Runtime session on the CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise EmbedderError(f"could not open {onnx_path}: {exc}") from exc


def _copy_tokenizer(tokenizer):
    """An independent tokenizer with the same truncation and padding, for another thread."""
    from tokenizers import Tokenizer

    return Tokenizer.from_str(tokenizer.to_str())
