"""Near-duplicate wire copies (index/dedup.py) through `newsbot index`, `ask` and `eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from newsbot_env import cli, seed_cli_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import cli, seed_cli_env  # type: ignore[no-redef]

WIRE = (
    "Firefighters battled a wildfire that forced the evacuation of about 3,000 residents from the hill towns "
    "north of Valdora on Sunday, the regional fire service said. The blaze started in dry scrubland near the "
    "Corra reservoir shortly after noon and spread quickly on strong easterly winds, reaching the outskirts of "
    "two villages by the evening.\n\n"
    "Around 400 firefighters, supported by six water-bombing aircraft and two helicopters, were deployed "
    "overnight. No deaths have been reported, but three firefighters were treated in hospital for smoke "
    "inhalation, according to the service. Officials said the main road between Valdora and Pessi would stay "
    "closed until at least Tuesday.\n\n"
    "The regional governor, Marta Ilse, said emergency shelters had been opened in school gyms and that "
    "residents should follow instructions from the police. Forecasters expect temperatures above 38C and "
    "little rain for the rest of the week, raising the risk of new fires across the region."
)


def copy_of(body: str, edits: dict[str, str]) -> str:
    for old, new in edits.items():
        assert old in body
        body = body.replace(old, new)
    return body


ARTICLES = {
    "wire-original.json": {
        "id": "wire-original", "title": "Wildfire forces 3,000 to flee hill towns near Valdora",
        "source": "Agency Wire", "published_at": "2026-08-02T14:00:00+00:00", "body": WIRE,
    },
    "daily-copy.json": {
        "id": "daily-copy", "title": "Thousands evacuated as blaze sweeps towards villages",
        "source": "Daily Planet", "published_at": "2026-08-02T16:30:00+00:00",
        "body": copy_of(WIRE, {"on Sunday": "on Sunday afternoon", "Around 400": "About 400",
                               "said emergency shelters": "told reporters emergency shelters"}),
    },
    "courier-copy.json": {
        "id": "courier-copy", "title": "Valdora fire: main road closed, three firefighters in hospital",
        "source": "Coast Courier", "published_at": "2026-08-03T07:00:00+00:00",
        "body": copy_of(WIRE, {"the regional fire service said": "the fire service said in a statement"}) +
        "\n\nThe Courier's reporter in Pessi said smoke could be seen from the town centre.",
    },
    # The same fire, a different story: an interview piece with its own wording.
    "feature.json": {
        "id": "valdora-feature", "title": "Valdora residents describe a night of fear as the fire approached",
        "source": "Daily Planet", "published_at": "2026-08-03T10:00:00+00:00",
        "body": (
            "When the sirens started, Lena Hart grabbed her passport, the cat and a box of photographs. By "
            "midnight she was sleeping on a camp bed in the school gym in Valdora, one of hundreds of people "
            "who left their homes as the wildfire moved down from the reservoir. Her neighbour, a retired "
            "teacher, stayed behind to water his roof with a garden hose until police told him to go.\n\n"
            "Volunteers handed out soup and blankets through the night, and a local bakery sent bread at "
            "dawn. Many residents said they had never seen a fire come so close to the villages, and several "
            "asked when they could go back. Nobody could tell them; the road to the hill towns was still shut."
        ),
    },
}


@pytest.fixture
def env(tmp_path, monkeypatch):
    corpus = seed_cli_env(tmp_path, monkeypatch)
    for name, record in ARTICLES.items():
        (corpus / name).write_text(json.dumps(record))
    return corpus


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_three_wire_copies_index_as_one_cluster_and_are_cited_once_with_also_in(env):
    report = run_json("index")
    assert (report["added"], report["duplicates"]) == (5, 2)
    stats = run_json("stats")
    assert stats["articles"] == 5

    answer = run_json("ask", "How many residents were evacuated because of the wildfire near Valdora?")
    cited = [c["article_id"] for c in answer["citations"]]
    assert "wire-original" in cited
    assert "daily-copy" not in cited and "courier-copy" not in cited
    original = next(c for c in answer["citations"] if c["article_id"] == "wire-original")
    assert [(c["article_id"], c["source"], c["published_at"]) for c in original["also_in"]] == [
        ("daily-copy", "Daily Planet", "2026-08-02T16:30:00+00:00"),
        ("courier-copy", "Coast Courier", "2026-08-03T07:00:00+00:00"),
    ]
    retrieved_ids = [p["article_id"] for p in answer["retrieved"]]
    assert "daily-copy" not in retrieved_ids and "courier-copy" not in retrieved_ids  # no copies' passages
    assert "valdora-feature" not in {c["article_id"] for p in answer["retrieved"] for c in p.get("also_in", [])}

    text = CliRunner().invoke(cli, ["ask", "How many residents were evacuated because of the wildfire near Valdora?"],
                              catch_exceptions=False).stdout
    assert "Agency Wire · 2026-08-02 · Wildfire forces 3,000 to flee hill towns near Valdora · " \
           "also in: Daily Planet 2026-08-02, Coast Courier 2026-08-03" in text


def test_a_no_change_reindex_keeps_the_clusters_without_clustering_again(env, monkeypatch):
    assert run_json("index")["duplicates"] == 2

    def no_clustering(items):
        raise AssertionError("a no-change reindex clustered again")

    monkeypatch.setattr("index.dedup.clusters", no_clustering)
    again = run_json("index")
    assert (again["added"], again["updated"], again["unchanged"], again["duplicates"]) == (0, 0, 5, 2)
    # one changed article is clustered again, with the others' stored signatures
    (env / "feature.json").write_text(json.dumps({**ARTICLES["feature.json"], "title": "New title"}))
    with pytest.raises(AssertionError, match="clustered again"):
        CliRunner().invoke(cli, ["index", "--json"], catch_exceptions=False)


def test_copies_are_not_embedded_and_the_next_copy_takes_over_when_the_original_goes(env):
    first = run_json("index")
    assert first["embedded_chunks"] == first["chunks"]
    assert run_json("index")["embedded_chunks"] == 0  # nothing changed, nothing re-embedded

    (env / "wire-original.json").unlink()
    report = run_json("index")
    # The daily's copy is now the original (embedded); the courier's record now points at it.
    assert (report["removed"], report["updated"], report["duplicates"]) == (1, 2, 1)
    assert (report["embedded_chunks"], report["chunks"]) == (2, first["chunks"])  # the daily's two passages
    again = run_json("index")
    assert (again["unchanged"], again["updated"], again["embedded_chunks"]) == (4, 0, 0)
    answer = run_json("ask", "How many residents were evacuated because of the wildfire near Valdora?")
    original = next(c for c in answer["citations"] if c["article_id"] == "daily-copy")
    assert [c["article_id"] for c in original["also_in"]] == ["courier-copy"]


def test_evaluation_by_article_id_counts_a_copy_as_found(env: Path, tmp_path: Path):
    run_json("index")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "How many residents fled the wildfire near Valdora?",
                                     "answer": "3,000", "gold_article_ids": ["courier-copy"]}) + "\n")
    report = run_json("eval", str(questions))
    [row] = report["questions"]
    assert row["ranked_article_ids"][:3] == ["wire-original", "daily-copy", "courier-copy"]
    assert (row["gold_rank"], report["metrics"]["hits_at_5"]) == (3, 1.0)


def test_an_index_from_before_signatures_is_not_re_embedded(env):
    from dataclasses import replace

    from bot.settings import load_settings
    from bot.wiring import build_store

    run_json("index")
    store = build_store(load_settings())
    store.commit_articles([replace(r, signature=None, duplicate_of=None) if r.duplicate_of is None
                           else replace(r, signature=None) for r in store.manifest().values()])
    assert all(r.signature is None for r in store.manifest().values())
    del store
    report = run_json("index")
    assert (report["unchanged"], report["embedded_chunks"], report["duplicates"]) == (5, 0, 2)


def test_telegram_sources_say_also_in():
    from datetime import datetime

    from bot.answer import Answer, Citation, Copy, Passage
    from bot.telegram.formatting import answer_messages

    passage = Passage("c1", "wire-original", "About 3,000 residents fled.", 0, 27, "Wildfire <forces>", "Agency Wire",
                      datetime(2026, 8, 2, 14), "https://wire.example/fire", 1.0,
                      also_in=(Copy("daily-copy", "Thousands evacuated", "Daily & Planet", datetime(2026, 8, 2), None),))
    answer = Answer(question="q", text="About 3,000 residents fled [1].", citations=[Citation(1, passage)])
    [message] = answer_messages(answer)
    assert message.endswith('[1] Agency Wire · 2026-08-02 · <a href="https://wire.example/fire">Wildfire &lt;forces&gt;</a>'
                            ' (also in: Daily &amp; Planet 2026-08-02)')
