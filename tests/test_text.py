"""Normalisation properties (hypothesis) and vocabulary lookups."""
from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expertpool.domain import taxonomy
from expertpool.io.datafiles import load_honours
from expertpool.domain.text import (
    clean,
    fold,
    id_check_char,
    normalise_id_number,
    parse_date,
    split_multi,
    to_halfwidth,
)

ascii_printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
cjk = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=8)


@given(ascii_printable)
def test_full_width_ascii_folds_to_half_width(text):
    full = "".join(chr(ord(c) + 0xFEE0) for c in text)
    assert to_halfwidth(full) == text


@given(st.text(max_size=40))
def test_clean_and_fold_are_idempotent(text):
    assert clean(clean(text)) == clean(text)
    assert fold(fold(text)) == fold(text)
    assert clean(text) == clean(text).strip()


@given(st.lists(cjk, min_size=1, max_size=6, unique=True), st.lists(st.sampled_from(["；", ";", "、", ",", "，", " ； "]),
                                                                      min_size=1))
def test_multi_value_cells_round_trip(items, separators):
    joined = ""
    for i, item in enumerate(items):
        joined += item if i == 0 else separators[i % len(separators)] + item
    assert split_multi(joined) == items


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_in_every_accepted_format(day):
    for text in (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日",
                 f"{day.isoformat()}T00:00:00", f"{day.isoformat()} 00:00:00"):
        assert parse_date(text) == day


@pytest.mark.parametrize("bad", ["2024-13-01", "2024-02-30", "03/05/2024", "明天", ""])
def test_bad_dates_are_errors(bad):
    with pytest.raises(ValueError):
        parse_date(bad)


@pytest.mark.parametrize("bad", ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31", dt.date(1, 1, 1),
                                 dt.datetime(9999, 12, 31, 23, 59)])
def test_dates_outside_the_usable_range_are_errors_naming_the_range(bad):
    with pytest.raises(ValueError, match="1900-01-01 至 2100-12-31"):
        parse_date(bad)


@given(st.text(max_size=40))
def test_clean_never_keeps_a_control_character(text):
    """NUL, escape sequences, bidirectional overrides …: never stored, printed or exported."""
    cleaned = clean(text)
    assert not any(unicodedata.category(c) == "Cc" for c in cleaned)
    assert not any(c in cleaned for c in "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@pytest.mark.parametrize("raw, expected", [("张\x00伟", "张伟"), ("\x1b[31m王强\x1b[0m", "[31m王强[0m"),
                                           ("\u202e学大川四", "学大川四"), ("李\x07娜\x7f", "李娜"),
                                           ("四川\t大学\r\n", "四川 大学"), ("x\x85y", "x y"), ("ｓｃｕ\x00", "scu")])
def test_control_characters_are_dropped_and_whitespace_collapsed(raw, expected):
    assert clean(raw) == expected


identity_bodies = st.builds(
    lambda region, day, seq: f"{region}{day:%Y%m%d}{seq:03d}",
    st.sampled_from(["510104", "500106", "510703"]),
    st.dates(min_value=dt.date(1940, 1, 1), max_value=dt.date(2005, 12, 31)),
    st.integers(0, 999),
)


@given(identity_bodies)
def test_valid_identity_numbers_pass_and_any_changed_digit_fails(body):
    number = body + id_check_char(body)
    assert normalise_id_number(number.lower()) == number
    for i in range(17):
        changed = body[:i] + str((int(body[i]) + 1) % 10) + body[i + 1:] + number[17]
        with pytest.raises(ValueError):
            normalise_id_number(changed)


@pytest.mark.parametrize("alias, field", [("AI", "人工智能"), ("ａｉ", "人工智能"), ("信息技术", "新一代信息技术"),
                                          ("汽车", "汽车摩托车"), ("新材料领域", "新材料"), (" 生物医药 ", "生物医药")])
def test_field_aliases(alias, field):
    assert taxonomy.normalise_field(alias) == field


def test_every_canonical_value_normalises_to_itself():
    for name in taxonomy.FIELDS:
        assert taxonomy.normalise_field(name) == name
    for region, subs in taxonomy.SUBREGIONS.items():
        for sub in subs:
            assert taxonomy.normalise_subregion(sub, region) == (region, sub)
    for title in taxonomy.TITLES:
        assert taxonomy.normalise_title(title) == title
    for honour in load_honours().honours:
        assert taxonomy.normalise_honour(honour.name, load_honours()) == honour.name


@pytest.mark.parametrize("fn, value", [(taxonomy.normalise_field, "量子玄学"), (taxonomy.normalise_region, "云南"),
                                       (taxonomy.normalise_title, "大师"), (lambda v: taxonomy.normalise_honour(v, load_honours()), "诺贝尔奖")])
def test_unknown_values_are_errors_not_guesses(fn, value):
    with pytest.raises(taxonomy.UnknownValue, match=value):
        fn(value)


def test_subregion_must_lie_in_region():
    assert taxonomy.normalise_subregion("渝中", "重庆") == ("重庆", "渝中区")
    assert taxonomy.normalise_subregion("凉山彝族自治州".replace("彝族", ""), "四川") == ("四川", "凉山")
    with pytest.raises(taxonomy.UnknownValue):
        taxonomy.normalise_subregion("绵阳", "重庆")
