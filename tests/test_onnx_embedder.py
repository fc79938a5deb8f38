"""OnnxEmbedder: pooling, normalisation, order, empty input on a tiny hand-built model; the real model
against sentence-transformers; the export cache; the backend chosen by the settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.settings import Settings
from bot.wiring import build_embedder
from index.embedder import PACKAGED_MODEL, CachedEmbedder, EmbedderError, SentenceTransformerEmbedder
from index.onnx_embedder import INT8_SUFFIX, OnnxEmbedder, model_cache_key, read_pipeline_config

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "alpha", "beta", "gamma", "delta"]
DIM = 4
MAX_SEQ = 6  # [CLS] + 4 words + [SEP]


def _table() -> np.ndarray:
    """A distinct, non-zero row per token (the [PAD] row too, so unmasked pooling would show)."""
    rng = np.random.default_rng(7)
    return rng.normal(size=(len(WORDS), DIM)).astype(np.float32)


def _expected(text: str) -> np.ndarray:
    """Mean of the token rows of [CLS] + the first MAX_SEQ-2 words + [SEP], L2-normalised."""
    ids = [2, *[WORDS.index(w) for w in text.split()][: MAX_SEQ - 2], 3]
    vec = _table()[ids].mean(axis=0)
    return vec / np.linalg.norm(vec)


@pytest.fixture
def tiny_model(tmp_path) -> tuple[Path, Path]:
    """A sentence-transformers-style folder (word-level tokenizer) and a cache holding its ONNX graph,
    whose token embeddings are a lookup table: pooling, masking and ordering are checked exactly."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    folder = tmp_path / "tiny-model"
    (folder / "1_Pooling").mkdir(parents=True)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.save(str(folder / "tokenizer.json"))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": DIM, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True})
    )
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": MAX_SEQ}))
    (folder / "config.json").write_text(json.dumps({"hidden_size": DIM, "max_position_embeddings": 512}))

    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT, ["batch", "sequence", DIM])
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["token_embeddings"])],
        "lookup",
        inputs,
        [output],
        initializer=[numpy_helper.from_array(_table(), "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    cache = tmp_path / "onnx-cache"
    (cache / model_cache_key(folder)).mkdir(parents=True)
    onnx.save(model, str(cache / model_cache_key(folder) / "model.onnx"))
    return folder, cache


def test_mean_pooling_over_the_mask_normalised_and_in_input_order(tiny_model):
    folder, cache = tiny_model
    embedder = OnnxEmbedder(str(folder), cache_dir=cache, batch_size=2, threads=1)
    # Different lengths, so the length sort reorders them and padding appears within batches;
    # the last text is longer than max_seq_length and must be truncated.
    texts = ["alpha", "beta gamma delta", "gamma gamma", "delta", "alpha beta gamma delta alpha beta"]
    seen: list[int] = []
    vecs = embedder.embed_documents(texts, progress=seen.append)
    assert vecs.dtype == np.float32 and vecs.shape == (5, DIM)
    np.testing.assert_allclose(vecs, np.array([_expected(t) for t in texts]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)
    assert seen == [2, 2, 1]
    np.testing.assert_allclose(embedder.embed_query("gamma gamma"), _expected("gamma gamma"), atol=1e-6)
    assert embedder.dim == DIM and embedder.name == str(folder)


TEXTS = ["alpha", "beta gamma delta", "gamma gamma", "delta", "alpha beta gamma delta alpha beta", "beta", "gamma"]


@pytest.mark.parametrize("threads", [2, 3])
def test_parallel_sessions_give_the_same_vectors_and_report_every_batch(tiny_model, threads):
    folder, cache = tiny_model
    alone = OnnxEmbedder(str(folder), cache_dir=cache, batch_size=2, threads=1).embed_documents(TEXTS)
    embedder = OnnxEmbedder(str(folder), cache_dir=cache, batch_size=2, threads=threads)
    seen: list[int] = []
    vecs = embedder.embed_documents(TEXTS, progress=seen.append)
    np.testing.assert_array_equal(vecs, alone)
    assert sorted(seen) == [1, 2, 2, 2]
    assert len(embedder._workers) == threads


class _FailsOnDelta(OnnxEmbedder):
    """Raises in whichever worker thread gets the batch holding "delta"."""

    def _embed_batch(self, texts, worker=None):
        if "delta" in texts:
            raise EmbedderError("broken batch")
        return super()._embed_batch(texts, worker)


def test_a_failing_worker_raises_in_the_caller_after_the_others_finish(tiny_model):
    folder, cache = tiny_model
    embedder = _FailsOnDelta(str(folder), cache_dir=cache, batch_size=1, threads=2)
    seen: list[int] = []
    with pytest.raises(EmbedderError, match="^broken batch$"):
        embedder.embed_documents(TEXTS, progress=seen.append)
    assert sum(seen) <= len(TEXTS) - 1
    # The embedder still works afterwards.
    np.testing.assert_allclose(embedder.embed_documents(["gamma gamma"]), [_expected("gamma gamma")], atol=1e-6)


def test_empty_input_has_shape_zero_by_dim(tiny_model):
    folder, cache = tiny_model
    vecs = OnnxEmbedder(str(folder), cache_dir=cache).embed_documents([])
    assert vecs.shape == (0, DIM) and vecs.dtype == np.float32


def test_other_pooling_is_refused(tiny_model):
    folder, _ = tiny_model
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    with pytest.raises(EmbedderError, match=r"mean pooling only, not \['pooling_mode_cls_token'\]"):
        read_pipeline_config(folder)


@pytest.mark.model
def test_packaged_model_matches_sentence_transformers_and_export_is_cached(tmp_path):
    sentences = [
        "The central bank raised interest rates by half a point on Wednesday.",
        "Flooding closed the coastal highway.",
        "",
        "word " * 400,  # past the 256-token window
        "Café naïve — 東京",
    ]
    reference = SentenceTransformerEmbedder().embed_documents(sentences)

    fp32 = OnnxEmbedder(cache_dir=tmp_path, batch_size=2)
    vecs = fp32.embed_documents(sentences)
    assert fp32.name == PACKAGED_MODEL  # same vectors, same manifest name: no re-embedding on a switch
    assert np.abs(vecs - reference).max() < 1e-5
    assert (vecs * reference).sum(axis=1).min() > 0.99999

    onnx_file = fp32.onnx_path
    assert onnx_file == tmp_path / onnx_file.parent.name / "model.onnx"
    mtime = onnx_file.stat().st_mtime_ns
    again = OnnxEmbedder(cache_dir=tmp_path)
    again.embed_query("warm")
    assert again.onnx_path == onnx_file and onnx_file.stat().st_mtime_ns == mtime

    int8 = OnnxEmbedder(cache_dir=tmp_path, quantized=True)
    qvecs = int8.embed_documents(sentences)
    assert int8.name == PACKAGED_MODEL + INT8_SUFFIX
    assert int8.onnx_path == onnx_file.parent / "model-int8.onnx"
    assert onnx_file.stat().st_mtime_ns == mtime  # quantized from the cached fp32 file
    cos = (qvecs * reference).sum(axis=1)
    assert cos.min() > 0.95 and np.abs(qvecs - reference).max() > 1e-4


@pytest.mark.parametrize(
    ("backend", "cls", "name"),
    [
        ("torch", SentenceTransformerEmbedder, PACKAGED_MODEL),
        ("onnx", OnnxEmbedder, PACKAGED_MODEL),
        ("onnx-int8", OnnxEmbedder, PACKAGED_MODEL + INT8_SUFFIX),
    ],
)
def test_wiring_builds_the_backend_named_by_the_setting(tmp_path, backend, cls, name):
    settings = Settings(data_dir=tmp_path, embedding_backend=backend, embedding_cache=False, _env_file=None)
    embedder = build_embedder(settings)
    assert type(embedder) is cls and embedder.name == name
    if cls is OnnxEmbedder:
        assert embedder.quantized is (backend == "onnx-int8") and embedder.onnx_path is None  # nothing loaded

    cached = build_embedder(settings.model_copy(update={"embedding_cache": True}))
    assert isinstance(cached, CachedEmbedder) and type(cached.inner) is cls and cached.name == name
