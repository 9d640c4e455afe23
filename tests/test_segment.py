"""Segmentation: rjieba (the engine) agrees with jieba (the reference); dictionary and synonyms."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from expertpool import segment

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def sample_corpus() -> list[str]:
    """Every research description, keyword cell and project text in the committed samples."""
    texts: list[str] = []
    with (SAMPLES / "sichuan_experts.csv").open(encoding="gb18030", newline="") as fh:
        for row in csv.DictReader(fh):
            texts += [row["研究方向"], row["关键词"], row["工作单位"], row["学科"]]
    for line in (SAMPLES / "projects.jsonl").read_text(encoding="utf-8").splitlines():
        project = json.loads(line)
        texts += [project["title"], project.get("abstract", ""), " ".join(project.get("keywords", []))]
    return [t for t in texts if t]


def test_rjieba_matches_jieba_on_the_sample_corpus():
    corpus = sample_corpus()
    assert len(corpus) > 200
    for text in corpus:
        assert segment.index_tokens(text, "rjieba") == segment.index_tokens(text, "jieba"), text
        assert segment.query_tokens(text, "rjieba") == segment.query_tokens(text, "jieba"), text


def test_search_mode_indexes_compound_terms_and_their_parts():
    tokens = segment.index_tokens("钒钛新材料的制备与性能研究")
    assert {"钒钛新材料", "钒钛", "新材料"} <= set(tokens)
    assert "的" not in tokens and "与" not in tokens


def test_query_mode_keeps_the_compound_whole():
    assert segment.query_tokens("钒钛新材料") == ["钒钛新材料"]


def test_every_field_name_is_one_token():
    from expertpool.domain.taxonomy import FIELDS

    for name in FIELDS:
        assert segment.query_tokens(name) == [name]


def test_synonyms_expand_at_query_time():
    terms = segment.query_terms("AI 芯片")
    ai = terms[0]
    assert ai.word == "ai" and "人工智能" in ai.alternatives


def test_user_dictionary_and_synonym_files_parse(tmp_path):
    (tmp_path / "u.txt").write_text("# c\n钒钛 3000 n\n新材料\n", encoding="utf-8")
    words = segment.load_user_dictionary(tmp_path / "u.txt")
    assert [(w.word, w.freq, w.tag) for w in words] == [("钒钛", 3000, "n"), ("新材料", 1000, None)]
    (tmp_path / "s.txt").write_text("人工智能, AI\nAI,机器智能\n", encoding="utf-8")
    groups = segment.load_synonyms(tmp_path / "s.txt")
    assert set(groups["ai"]) == {"人工智能", "ai", "机器智能"}


def test_char_bigrams():
    assert segment.char_bigrams("钒钛新材料 AI") == ["钒钛", "钛新", "新材", "材料"]


def test_long_dictionary_parts_of_a_compound_are_indexed():
    tokens = set(segment.index_tokens("锂离子电池正极材料的研究"))
    assert {"锂离子电池正极材料", "锂离子电池", "正极材料"} <= tokens
    assert "语言模型" in set(segment.index_tokens("大语言模型"))


def _whole_text_tokens(text: str, engine: str) -> list[str]:
    """The reference for `index_tokens`: the whole text cut at once, long parts de-duplicated
    against everything before them."""
    seg, long_words, out = segment.get_segmenter(engine), segment._long_user_words(), []
    for raw in seg.cut_for_search(segment.to_halfwidth(text)):
        token = segment.normalise_token(raw)
        if segment._keep(token):
            if len(token) >= 5:
                out.extend(p for p in segment._long_parts(token, long_words) if p not in out)
            out.append(token)
    return out


def test_cutting_at_separators_first_gives_the_tokens_of_the_whole_text():
    """index_tokens caches tokens per clause; cut whole, the text must give the same tokens."""
    tricky = ["锂离子电池正极材料、锂离子电池正极材料；高熵合金。锂离子电池", "Ｌｉ-ion　电池（正极）研究；ＡＩ芯片",
              "a.b_c%d+e#f&g-h 5G通信,,，  大语言模型\t\r\n深度学习", "①②³·…—~鿖鿿𠀀é「知识图谱」【边缘计算】"]
    for text in sample_corpus() + tricky:
        for engine in ("rjieba", "jieba"):
            assert segment.index_tokens(text, engine) == _whole_text_tokens(text, engine), (engine, text)

