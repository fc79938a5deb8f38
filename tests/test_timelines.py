"""Statement timelines and quotes end to end through the CLI (click's CliRunner): real parsers,
chunker, Chroma, the statement index beside the BM25 table, the core.

The synthetic corpus: Foreign Secretary Helen Marsh speaks on passports and on the rail strike
across six dated articles from three outlets (some statements only through "She added …" or
'"…," she said'), and union leader Tom Marsh, a second person with the same surname, speaks on
the strike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

try:
    from newsbot_env import cli, seed_cli_env
except ModuleNotFoundError:  # tests/ imported as a package
    from tests.newsbot_env import cli, seed_cli_env  # type: ignore[no-redef]

ARTICLES = [
    {
        "id": "a1",
        "title": "Marsh warns over forged passports",
        "source": "KBS News",
        "published_at": "2024-10-01T09:00:00+09:00",
        "body": (
            "Foreign Secretary Helen Marsh said on Tuesday that forged passports were being sold online.\n\n"
            "She added that the passport office would hire 200 more staff.\n\n"
            "The opposition said the plan came too late."
        ),
    },
    {
        "id": "a2",
        "title": "Rail strike enters second week",
        "source": "Reuters",
        "published_at": "2024-10-05T12:00:00+00:00",
        "body": (
            "Rail workers walked out for a second week on Saturday.\n\n"
            "Helen Marsh, the foreign secretary, said the strike was hurting Britain's image abroad.\n\n"
            "Union leader Tom Marsh said members would not back down."
        ),
    },
    {
        "id": "a3",
        "title": "Passport fraud ring broken up",
        "source": "Daily Post",
        "published_at": "2024-10-12T08:00:00+01:00",
        "body": (
            "Police broke up a passport fraud ring in Leeds on Friday.\n\n"
            "Foreign Secretary Helen Marsh visited the border unit that afternoon.\n\n"
            "Marsh told reporters that the arrests showed the new checks were working.\n\n"
            "\u201cWe will keep going until every forger in Leeds is caught,\u201d she said."
        ),
    },
    {
        "id": "a4",
        "title": "Strike talks resume",
        "source": "KBS News",
        "published_at": "2024-10-20T10:00:00+09:00",
        "body": (
            "Talks between the rail operators and the union resumed in London on Monday.\n\n"
            "Helen Marsh met transport officials as the talks began.\n\n"
            "She said she would meet both sides on Friday.\n\n"
            "Tom Marsh said the union wanted a fair offer."
        ),
    },
    {
        "id": "a5",
        "title": "UK to issue digital passports",
        "source": "Reuters",
        "published_at": "2024-11-02T15:00:00+00:00",
        "body": (
            "The government will issue digital passports from 2025, Foreign Secretary Helen Marsh said on Saturday.\n\n"
            "Marsh said the change would cut fraud."
        ),
    },
    {
        "id": "a6",
        "title": "Rail strike ends after deal",
        "source": "Daily Post",
        "published_at": "2024-11-15T18:00:00+00:00",
        "body": (
            "The rail strike ended on Thursday after a late-night deal.\n\n"
            "Helen Marsh welcomed the deal and said it was good news for travellers.\n\n"
            "According to Tom Marsh, the deal gave workers a fair rise."
        ),
    },
]

A1_S1 = "Foreign Secretary Helen Marsh said on Tuesday that forged passports were being sold online."
A1_S2 = "She added that the passport office would hire 200 more staff."
A2_HELEN = "Helen Marsh, the foreign secretary, said the strike was hurting Britain's image abroad."
A2_TOM = "Union leader Tom Marsh said members would not back down."
A3_S1 = "Marsh told reporters that the arrests showed the new checks were working."
A3_S2 = "\u201cWe will keep going until every forger in Leeds is caught,\u201d she said."
A4_HELEN = "She said she would meet both sides on Friday."
A4_TOM = "Tom Marsh said the union wanted a fair offer."
A5_S1 = "The government will issue digital passports from 2025, Foreign Secretary Helen Marsh said on Saturday."
A5_S2 = "Marsh said the change would cut fraud."
A6_HELEN = "Helen Marsh welcomed the deal and said it was good news for travellers."
A6_TOM = "According to Tom Marsh, the deal gave workers a fair rise."


def write_corpus(corpus: Path, articles: list[dict] = ARTICLES, name: str = "marsh.jsonl") -> None:
    rows = [{**a, "url": f"https://news.example/{a['id']}"} for a in articles]
    (corpus / name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The Marsh corpus alone (the seed article removed), a fresh data dir, the fast embedder."""
    corpus = seed_cli_env(tmp_path, monkeypatch)
    for path in corpus.iterdir():
        path.unlink()
    write_corpus(corpus)
    return corpus


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ask_json(question: str, *options: str) -> dict:
    result = run("ask", question, "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def lines_of(answer: dict) -> list[str]:
    return answer["answer"].split("\n")


def cited(answer: dict) -> list[tuple[int, str, str]]:
    return [(c["n"], c["article_id"], c["quote"]) for c in answer["citations"]]


def test_all_statements_on_one_topic_oldest_first_each_cited(env):
    answer = ask_json("What has Helen Marsh said about passports?")
    assert answer["abstained"] is False
    assert lines_of(answer) == [
        "What Helen Marsh has said about passports, oldest first:",
        f"1 Oct 2024 · KBS News · {A1_S1} [1]",
        f"1 Oct 2024 · KBS News · {A1_S2} [2]",
        f"12 Oct 2024 · Daily Post · {A3_S1} [3]",
        f"12 Oct 2024 · Daily Post · {A3_S2} [4]",
        f"2 Nov 2024 · Reuters · {A5_S1} [5]",
        f"2 Nov 2024 · Reuters · {A5_S2} [6]",
    ]
    assert cited(answer) == [
        (1, "a1", A1_S1), (2, "a1", A1_S2), (3, "a3", A3_S1), (4, "a3", A3_S2), (5, "a5", A5_S1), (6, "a5", A5_S2),
    ]
    for c in answer["citations"]:
        assert c["quote"] in c["passage"]
    assert {c["chunk_id"] for c in answer["citations"]} <= {r["chunk_id"] for r in answer["retrieved"]}
    assert answer["statements"] == [
        {"speaker": "Helen Marsh", "published_at": "2024-10-01T09:00:00+09:00", "source": "KBS News", "text": A1_S1, "n": 1},
        {"speaker": "Helen Marsh", "published_at": "2024-10-01T09:00:00+09:00", "source": "KBS News", "text": A1_S2, "n": 2},
        {"speaker": "Helen Marsh", "published_at": "2024-10-12T08:00:00+01:00", "source": "Daily Post", "text": A3_S1, "n": 3},
        {"speaker": "Helen Marsh", "published_at": "2024-10-12T08:00:00+01:00", "source": "Daily Post", "text": A3_S2, "n": 4},
        {"speaker": "Helen Marsh", "published_at": "2024-11-02T15:00:00+00:00", "source": "Reuters", "text": A5_S1, "n": 5},
        {"speaker": "Helen Marsh", "published_at": "2024-11-02T15:00:00+00:00", "source": "Reuters", "text": A5_S2, "n": 6},
    ]


def test_the_other_marsh_has_his_own_timeline_and_never_appears_in_hers(env):
    strike = ask_json("What has Helen Marsh said about the strike?")
    assert lines_of(strike) == [
        "What Helen Marsh has said about the strike, oldest first:",
        f"5 Oct 2024 · Reuters · {A2_HELEN} [1]",
        f"20 Oct 2024 · KBS News · {A4_HELEN} [2]",  # about the strike because its article is
        f"15 Nov 2024 · Daily Post · {A6_HELEN} [3]",
    ]
    tom = ask_json("What has Tom Marsh said about the strike?")
    assert lines_of(tom)[1:] == [
        f"5 Oct 2024 · Reuters · {A2_TOM} [1]",
        f"20 Oct 2024 · KBS News · {A4_TOM} [2]",
        f"15 Nov 2024 · Daily Post · {A6_TOM} [3]",
    ]


def test_ask_prints_a_timeline_as_a_table_then_its_sources(env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    result = run("ask", "What has Tom Marsh said about the strike?")
    assert result.exit_code == 0, result.output
    assert [line.rstrip() for line in result.stdout.splitlines()] == [
        "What Tom Marsh has said about the strike, oldest first:",
        "Date          Outlet       Statement",
        "─" * 91,
        "5 Oct 2024    Reuters      Union leader Tom Marsh said members would not back down.     [1]",
        "20 Oct 2024   KBS News     Tom Marsh said the union wanted a fair offer.                [2]",
        "15 Nov 2024   Daily Post   According to Tom Marsh, the deal gave workers a fair rise.   [3]",
        "",
        "[1] Reuters · 2024-10-05 · Rail strike enters second week · https://news.example/a2",
        "[2] KBS News · 2024-10-20 · Strike talks resume · https://news.example/a4",
        "[3] Daily Post · 2024-11-15 · Rail strike ends after deal · https://news.example/a6",
    ]


def test_a_date_bounded_question(env):
    answer = ask_json("What has Helen Marsh said about passports since October 10?")
    assert lines_of(answer)[1:] == [
        f"12 Oct 2024 · Daily Post · {A3_S1} [1]",
        f"12 Oct 2024 · Daily Post · {A3_S2} [2]",
        f"2 Nov 2024 · Reuters · {A5_S1} [3]",
        f"2 Nov 2024 · Reuters · {A5_S2} [4]",
    ]
    before = ask_json("What has Helen Marsh said about passports before 12 October 2024?")
    assert [(n, aid) for n, aid, _ in cited(before)] == [(1, "a1"), (2, "a1")]
    between = ask_json("What has Helen Marsh said between 2 and 31 October?")
    assert [quote for _, _, quote in cited(between)] == [A2_HELEN, A3_S1, A3_S2, A4_HELEN]


def repl_answers(*lines: str) -> list[dict]:
    """The REPL fed `lines`, each question followed by `:json`; the JSON of each answer."""
    script = "".join(f"{line}\n:json\n" for line in lines) + ":quit\n"
    result = CliRunner().invoke(cli, ["repl"], input=script, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    decoder, out, text, at = json.JSONDecoder(), [], result.stdout, 0
    while (start := text.find("\n{", at)) != -1:
        data, at = decoder.raw_decode(text, start + 1)
        out.append(data)
    return out


def test_a_follow_up_narrows_the_outlet_then_goes_back_in_time(env):
    answers = repl_answers("What has Helen Marsh said about passports?", "only Reuters", "and before that?")
    assert len(answers) == 3
    assert lines_of(answers[1]) == [
        "What Helen Marsh has said about passports, oldest first:",
        f"2 Nov 2024 · Reuters · {A5_S1} [1]",
        f"2 Nov 2024 · Reuters · {A5_S2} [2]",
    ]
    # "and before that?" keeps the outlet and asks for what came before 2 Nov: nothing from Reuters.
    assert answers[2]["abstained"] is True
    assert answers[2]["warnings"] == ["abstained: no statement by Helen Marsh about passports in the coverage"]


def test_and_before_that_lists_the_statements_before_the_oldest_shown(env):
    answers = repl_answers("What has Helen Marsh said about passports since 12 October?", "and before that?")
    assert [quote for _, _, quote in cited(answers[0])] == [A3_S1, A3_S2, A5_S1, A5_S2]
    assert [quote for _, _, quote in cited(answers[1])] == [A1_S1, A1_S2]
    assert lines_of(answers[1])[0] == "What Helen Marsh has said about passports, oldest first:"


def test_a_role_phrased_question(env):
    answer = ask_json("What has the foreign secretary said about the strike?")
    assert [quote for _, _, quote in cited(answer)] == [A2_HELEN, A4_HELEN, A6_HELEN]
    assert lines_of(answer)[0] == "What Helen Marsh has said about the strike, oldest first:"


def test_a_speaker_not_in_the_coverage_abstains(env):
    answer = ask_json("What has Boris Johnson said about passports?")
    assert answer["abstained"] is True
    assert answer["answer"] == "I couldn't find that in the coverage."
    assert answer["citations"] == [] and answer["statements"] == []
    assert answer["warnings"] == ["abstained: no statement by Boris Johnson in the coverage"]


def test_quotes_lists_a_speaker_oldest_first_as_text_and_json(env):
    result = run("quotes", "Helen Marsh", "--about", "passports", "--since", "2024-10-02")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Helen Marsh about passports: 4 statements, oldest first",
        f"12 Oct 2024 · Daily Post · {A3_S1}",
        f"12 Oct 2024 · Daily Post · {A3_S2}",
        f"2 Nov 2024 · Reuters · {A5_S1}",
        f"2 Nov 2024 · Reuters · {A5_S2}",
    ]
    result = run("quotes", "Tom Marsh", "--until", "2024-10-31", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    body = {a["id"]: a["body"] for a in ARTICLES}
    assert data["speaker"] == "Tom Marsh"
    assert [s["text"] for s in data["statements"]] == [A2_TOM, A4_TOM]
    first = data["statements"][0]
    assert set(first) == {"speaker", "published_at", "source", "title", "article_id", "text", "start", "end"}
    assert (first["speaker"], first["published_at"], first["source"], first["title"], first["article_id"]) == (
        "Tom Marsh", "2024-10-05T12:00:00+00:00", "Reuters", "Rail strike enters second week", "a2",
    )
    # The offsets are into the chunk; these articles are one chunk each, so into the body too.
    assert body["a2"][first["start"] : first["end"]] == A2_TOM


def test_quotes_for_somebody_absent_lists_nothing_and_says_so(env):
    result = run("quotes", "Boris Johnson", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"speaker": "Boris Johnson", "statements": []}
    assert "newsbot: no statements by Boris Johnson in the coverage" in result.stderr


def test_an_edited_article_updates_and_a_removed_one_drops_its_statements(env):
    assert len(json.loads(run("quotes", "Tom Marsh", "--json").stdout)["statements"]) == 3
    edited = [dict(a) for a in ARTICLES if a["id"] != "a6"]
    edited[3] = {**edited[3], "body": edited[3]["body"].replace(A4_TOM, "Tom Marsh said the offer was an insult.")}
    write_corpus(env, edited)
    assert run("index").exit_code == 0
    data = json.loads(run("quotes", "Tom Marsh", "--json").stdout)
    assert [s["text"] for s in data["statements"]] == [A2_TOM, "Tom Marsh said the offer was an insult."]
    helen = json.loads(run("quotes", "Helen Marsh", "--about", "strike", "--json").stdout)
    assert [s["article_id"] for s in helen["statements"]] == ["a2", "a4"]


LAMMY_EARLIER = [
    {
        "id": "lammy-aug",
        "title": "Lammy on travel documents",
        "source": "Daily Post",
        "published_at": "2024-08-14T10:00:00+00:00",
        "body": "David Lammy said the new passports would carry a chip from next year.",
    },
    {
        "id": "lammy-sept",
        "title": "Lammy on border checks",
        "source": "Reuters",
        "published_at": "2024-09-30T10:00:00+00:00",
        "body": "Foreign Secretary David Lammy said checks on passports at the border would be tightened.",
    },
]


def test_what_did_x_say_keeps_the_best_answer_first_then_earlier_statements(tmp_path, monkeypatch):
    corpus = seed_cli_env(tmp_path, monkeypatch)
    write_corpus(corpus, LAMMY_EARLIER, name="lammy.jsonl")
    answer = ask_json("What did Lammy say about passports?")
    lines = lines_of(answer)
    assert lines[0].startswith("Secretary Lammy stated that Russia is even using counterfeit passports")
    assert lines[0].endswith(" [1]") and "[2]" not in lines[0]
    assert lines[1:] == [
        "Earlier statements:",
        "14 Aug 2024 · Daily Post · David Lammy said the new passports would carry a chip from next year. [2]",
        "30 Sep 2024 · Reuters · Foreign Secretary David Lammy said checks on passports at the border would be tightened. [3]",
    ]
    assert [c["article_id"] for c in answer["citations"]][1:] == ["lammy-aug", "lammy-sept"]
    assert "statements" not in answer  # not a timeline answer


FLOOD = [
    {
        "id": "f1", "title": "Riverton flood forces evacuation", "source": "KBS News",
        "published_at": "2024-10-21T09:00:00+09:00",
        "body": "About 3,000 people were evacuated from Riverton after the river burst its banks on Sunday.\n\n"
                "Rescue teams worked through the night.",
    },
    {
        "id": "f2", "title": "Riverton residents return home", "source": "Daily Post",
        "published_at": "2024-10-22T08:00:00+01:00",
        "body": "Residents began returning to Riverton on Tuesday.\n\n"
                "About 3,000 people had been evacuated from Riverton when the river flooded.",
    },
    {
        "id": "f3", "title": "Riverton flood toll revised", "source": "Reuters",
        "published_at": "2024-10-23T12:00:00+00:00",
        "body": "Officials now say 10,000 people were evacuated from Riverton during the flood.\n\n"
                "The clean-up is expected to take weeks.",
    },
]


def test_conflicting_figures_are_listed_with_their_outlets_and_dates(tmp_path, monkeypatch):
    corpus = seed_cli_env(tmp_path, monkeypatch)
    write_corpus(corpus, FLOOD, name="flood.jsonl")
    answer = ask_json("How many people were evacuated from Riverton?")
    first, second = lines_of(answer)
    assert first == (
        "Reports differ: KBS News, 21 Oct 2024: About 3,000 [1] · Daily Post, 22 Oct 2024: About 3,000 [2]"
        " · Reuters, 23 Oct 2024: 10,000 [3]"
    )
    assert [(c["n"], c["article_id"]) for c in answer["citations"]] == [(1, "f1"), (2, "f2"), (3, "f3")]
    assert second.endswith("[1] " + "About 3,000 people had been evacuated from Riverton when the river flooded. [2] "
                           "Officials now say 10,000 people were evacuated from Riverton during the flood. [3]")
    short = answer["short_answer"]
    cited = answer["citations"][short["n"] - 1]
    assert cited["passage"][short["start"] : short["end"]] == short["text"]


def test_agreeing_figures_give_one_short_answer(tmp_path, monkeypatch):
    corpus = seed_cli_env(tmp_path, monkeypatch)
    write_corpus(corpus, FLOOD[:2], name="flood.jsonl")
    answer = ask_json("How many people were evacuated from Riverton?")
    assert lines_of(answer)[0] == "About 3,000."
    assert answer["short_answer"]["text"] == "About 3,000"


def test_a_dense_timeline_is_grouped_by_day():
    from bot.answer import Passage
    from bot.timeline import Speaker, TimelineQuery, compose
    from index.statements import Statement, StoredStatement

    def stored(i: int, day: int, source: str) -> StoredStatement:
        text = f"Marsh said point {i}."
        statement = Statement("a%d" % day, f"c{i}", 0, len(text), text, "Helen Marsh", "marsh", (), "said", "name", i)
        return StoredStatement(statement, source, f"2024-10-{day:02d}T09:00:00+00:00", None, "T")

    rows = [stored(i, 1 + i // 5, "KBS News" if i % 2 else "Reuters") for i in range(13)]
    answer = compose(
        "What has Helen Marsh said?", TimelineQuery(speaker="Helen Marsh"), Speaker("Helen Marsh", "marsh", None), rows,
        lambda cid: Passage(chunk_id=cid, article_id="a", text="x", start=0, end=1, title="T", source=None,
                            published_at=None, url=None, score=1.0),
    )
    lines = answer.text.split("\n")
    assert lines[:8] == [
        "What Helen Marsh has said, oldest first:",
        "1 Oct 2024:",
        "  Reuters · Marsh said point 0. [1]",
        "  KBS News · Marsh said point 1. [2]",
        "  Reuters · Marsh said point 2. [3]",
        "  KBS News · Marsh said point 3. [4]",
        "  Reuters · Marsh said point 4. [5]",
        "2 Oct 2024:",
    ]
    assert len(lines) == 1 + 3 + 13 and lines[-1] == "  Reuters · Marsh said point 12. [13]"


def test_what_did_x_say_finds_x_speaking_where_retrieval_did_not(env):
    # An article heavy with her name and the topic's words, in which she does not speak, takes the
    # one retrieved slot.
    distractor = {
        "id": "p0", "title": "Helen Marsh and the passport queues", "source": "Daily Post",
        "published_at": "2024-11-20T08:00:00+00:00",
        "body": "Passport queues grew as passports ran out, and critics blamed Helen Marsh for the passport delays. "
                "Passport fees for passports rose this year while Helen Marsh was abroad. "
                "Helen Marsh was not at the passport office for the passport checks.",
    }
    write_corpus(env, [distractor], name="distractor.jsonl")
    answer = ask_json("What did Helen Marsh say about passports?", "--k", "1")
    assert answer["abstained"] is False
    assert answer["citations"][0]["article_id"] == "a5"  # her newest statement on passports
    assert lines_of(answer)[0].endswith("[1]") and A5_S1 in answer["citations"][0]["quote"]
    assert [r["article_id"] for r in answer["retrieved"]][0] == "a5"


def test_quotes_with_an_empty_speaker_is_a_usage_error(env):
    result = run("quotes", "  ")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: SPEAKER is empty: name a person, a surname or a role"
