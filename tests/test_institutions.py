"""Institution names → legal units: the alias table as data, the pure normaliser, its loader."""
from __future__ import annotations

import pytest

from expertpool.domain.institutions import Institution, InstitutionTable, InstitutionTableError, unit_key
from expertpool.errors import InputError
from expertpool.io.datafiles import load_institutions


@pytest.fixture(scope="module")
def table() -> InstitutionTable:
    return load_institutions()


@pytest.mark.parametrize("raw, legal", [
    ("四川大学", "四川大学"),
    ("四川大学华西医院", "四川大学"),          # sub-unit
    ("  四川大学华西医院 ", "四川大学"),
    ("川大", "四川大学"),                      # short name
    ("ＳＣＵ", "四川大学"),                    # full-width English alias
    ("Sichuan  University", "四川大学"),
    ("华西医科大学", "四川大学"),              # former name
    ("四川大学计算机学院", "四川大学"),        # full name + department
    ("四川大学华西医院心内科", "四川大学"),
    ("四川大学（华西医院）", "四川大学"),
    ("重庆大学/材料科学与工程学院", "重庆大学"),
    ("重大", "重庆大学"),
    ("重庆建筑大学", "重庆大学"),
    ("中物院", "中国工程物理研究院"),
    ("西南医院", "陆军军医大学"),
    ("第三军医大学", "陆军军医大学"),
])
def test_names_normalise_to_the_legal_unit(table, raw, legal):
    assert table.normalise(raw) == legal


@pytest.mark.parametrize("raw", ["川大附中", "重大装备制造有限公司", "重邮电子公司", "成电路桥"])
def test_short_names_never_match_as_a_prefix(table, raw):
    # a short name matches only as the whole name; these are other institutions
    assert table.normalise(raw) == raw


@pytest.mark.parametrize("raw", ["qq.com", "163.com", "gmail.com", "zhangsan@qq.com", "lisi@scu.edu.cn",
                                 "scu.edu.cn", "www.cqu.edu.cn", "https://www.126.com/"])
def test_email_addresses_and_domains_are_never_an_institution(table, raw):
    assert table.normalise(raw) is None
    assert table.key(raw) is None


@pytest.mark.parametrize("raw", ["", None, "无", "不详", "个人", "  ", "N/A"])
def test_placeholders_name_no_institution(table, raw):
    assert table.normalise(raw) is None


def test_unknown_names_normalise_to_themselves_never_fuzzy(table):
    assert table.normalise("成都某某科技有限公司") == "成都某某科技有限公司"
    assert table.normalise("成都某某科技有限公司 ") == "成都某某科技有限公司"
    assert table.normalise("ＡＢＣ科技") == "ABC科技"  # full-width folded
    # similar but different names stay different units
    assert table.key("四川某研究院") != table.key("四川某研究所")
    assert table.key("Acme  Corp") == table.key("acme corp")  # width/space/case folding only
    assert table.normalise("A.I. Lab") == "A.I. Lab"  # dotted, but not a domain
    assert not table.is_known("成都某某科技有限公司")
    assert table.is_known("川大")


def test_parent_and_entries(table):
    assert table.parent("四川大学") == "教育部"
    assert table.parent(table.normalise("中电科24所")) == "中国电子科技集团有限公司"
    assert table.get("未知单位") is None
    assert unit_key("四川大学") == "四川大学"
    assert len(table) > 40


def test_independent_unit_listed_in_the_table_wins_over_the_prefix_rule():
    table = InstitutionTable((
        Institution("重庆大学", aliases=("重大",)),
        Institution("重庆对外经贸学院", former=("重庆大学城市科技学院",)),
    ))
    assert table.normalise("重庆大学城市科技学院") == "重庆对外经贸学院"
    assert table.normalise("重庆大学材料学院") == "重庆大学"


def test_a_name_claimed_by_two_units_is_rejected():
    with pytest.raises(InstitutionTableError, match="重大"):
        InstitutionTable((Institution("重庆大学", aliases=("重大",)), Institution("某重大学院", aliases=("重大",))))
    with pytest.raises(InstitutionTableError, match="重复"):
        InstitutionTable((Institution("重庆大学"), Institution("重庆大学")))


def test_from_mapping_validates_shapes():
    with pytest.raises(InstitutionTableError, match=r"institution\[1\].aliases"):
        InstitutionTable.from_mapping({"institution": [{"name": "甲", "aliases": "乙"}]})
    with pytest.raises(InstitutionTableError, match="name"):
        InstitutionTable.from_mapping({"institution": [{"aliases": []}]})
    table = InstitutionTable.from_mapping({"institution": [{"name": "甲大学", "weight": 3, "kind": "高校"}]})
    assert table.normalise("甲大学") == "甲大学"


def test_loader_names_the_file_and_key(tmp_path):
    bad = tmp_path / "inst.toml"
    bad.write_text('[[institution]]\nname = "甲"\naliases = ["A"]\n[[institution]]\nname = "乙"\naliases = ["a"]\n',
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_institutions(bad)
    assert str(bad) in str(err.value) and "乙.aliases" in str(err.value)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[institution]\n", encoding="utf-8")
    with pytest.raises(InputError, match="TOML"):
        load_institutions(broken)
