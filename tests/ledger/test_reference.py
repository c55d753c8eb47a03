"""Reference data: the shipped tables, the lookups and the loader's validation."""

from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.errors import EntryError, render_field
from ledger.supervision.reference import (
    ADDITIVES_FILE,
    CATEGORIES_FILE,
    DEFAULT_DIRECTORY,
    STANDARDS_FILE,
    ReferenceData,
    ReferenceDataError,
    convert_level,
    load_reference,
    normalise_standard_number,
)


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped tables to grow or break."""
    for name in (CATEGORIES_FILE, STANDARDS_FILE, ADDITIVES_FILE):
        shutil.copy(DEFAULT_DIRECTORY / name, tmp_path / name)
    return tmp_path


def append(path: Path, *lines: str) -> int:
    """Append rows; returns the line number of the first one."""
    text = path.read_text(encoding="utf-8")
    first = len(text.splitlines()) + 1
    path.write_text(text + "".join(line + "\n" for line in lines), encoding="utf-8")
    return first


def replace_line(path: Path, number: int, line: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- the shipped tables ----------------------------------------------------------------------


def test_69_categories_in_9_classes(ref: ReferenceData) -> None:
    assert len(ref.categories) == 69
    assert len(ref.classes) == 9
    assert Counter(c.class_code for c in ref.categories.values()) == {
        "F": 28, "A": 8, "W": 4, "C": 4, "G": 5, "B": 4, "K": 5, "T": 5, "M": 6}


def test_codes_are_unique_and_stable(ref: ReferenceData) -> None:
    with (DEFAULT_DIRECTORY / CATEGORIES_FILE).open(encoding="utf-8") as handle:
        codes_in_file = [row["code"] for row in csv.DictReader(handle)]
    assert len(codes_in_file) == len(set(codes_in_file)) == 69
    assert list(ref.categories) == codes_in_file == [f"{n:02d}" for n in range(1, 70)]
    # Codes are recorded in ledger entries, so their meaning must never move.
    assert ref.category("01").name_zh == "小麦粉"
    assert ref.category("07").name_en == "Dairy products"
    assert ref.category("29").name_zh == "家用电冰箱"
    assert ref.category("48").unit_serialization == "required"
    assert ref.category("69").name_zh == "安全帽"


def test_category_record_rules(ref: ReferenceData) -> None:
    milk = ref.category("07")
    assert (milk.class_code, milk.class_zh, milk.class_en) == ("F", "食品", "Food")
    assert milk.needs_additive_filing is True
    assert milk.needs_lot_inspection_before_shipment is True
    assert ref.category("30").needs_additive_filing is False
    assert ref.is_food("28") and not ref.is_food("29")


def test_default_tables_are_cached(ref: ReferenceData) -> None:
    assert load_reference() is load_reference() is ref
    assert load_reference(DEFAULT_DIRECTORY) is not ref
    assert load_reference(DEFAULT_DIRECTORY) == ref


def test_tables_are_read_only(ref: ReferenceData) -> None:
    with pytest.raises(TypeError):
        ref.categories["70"] = ref.categories["01"]  # type: ignore[index]


def test_unknown_category_is_an_entry_error(ref: ReferenceData) -> None:
    with pytest.raises(EntryError, match="unknown product category '70'") as caught:
        ref.category("70")
    assert render_field(caught.value.field) == "category"
    with pytest.raises(EntryError) as caught:
        ref.category("1", field="product_category")
    assert render_field(caught.value.field) == "product_category"
    with pytest.raises(EntryError):
        ref.is_food("00")


# --- standards -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "GB 19301-2010", "GB19301-2010", "gb 19301-2010", " GB  19301 - 2010 ", "GB 19301—2010",
    "ＧＢ １９３０１－２０１０",
])
def test_standard_number_variants(ref: ReferenceData, typed: str) -> None:
    found = ref.standard(typed)
    assert found is not None and found.number == "GB 19301-2010"


def test_standard_number_normalisation_keeps_prefix_and_parts() -> None:
    assert normalise_standard_number("gb/t2828.1-2012") == "GB/T 2828.1-2012"
    assert normalise_standard_number("GB 4706.1-2024") == "GB 4706.1-2024"


def test_standard_record(ref: ReferenceData) -> None:
    old = ref.standard("GB 2760-2014")
    assert old is not None
    assert old.status == "withdrawn" and old.replaced_by == "GB 2760-2024"
    assert old.effective_from == date(2015, 5, 24)
    assert old.applies_to_categories == tuple(f"{n:02d}" for n in range(1, 29))
    assert ref.standard("GB 9999-1999") is None


def test_withdrawn_standard_warning_names_replacement(ref: ReferenceData) -> None:
    warning = ref.standard_warning("GB2760-2014", date(2026, 1, 1))
    assert warning is not None
    assert (warning.severity, warning.kind) == ("warning", "withdrawn")
    assert warning.replaced_by == "GB 2760-2024"
    assert "GB 2760-2024" in warning.message
    assert warning.effective_from == date(2025, 2, 8)


def test_withdrawn_standard_was_still_in_force_before_its_replacement(ref: ReferenceData) -> None:
    notice = ref.standard_warning("GB 2760-2014", date(2024, 6, 1))
    assert notice is not None
    assert (notice.severity, notice.kind) == ("notice", "being_replaced")
    assert "GB 2760-2024" in notice.message and "2025-02-08" in notice.message


def test_not_yet_effective_notice(ref: ReferenceData) -> None:
    notice = ref.standard_warning("GB 4706.1-2024", date(2026, 7, 31))
    assert notice is not None
    assert (notice.severity, notice.kind) == ("notice", "not_yet_effective")
    assert notice.effective_from == date(2026, 8, 1)
    assert "2026-08-01" in notice.message
    # from its effective date on, the published standard is simply in force
    assert ref.standard_warning("GB 4706.1-2024", date(2026, 8, 1)) is None


def test_current_standard_with_published_successor(ref: ReferenceData) -> None:
    before = ref.standard_warning("GB 7718-2011", date(2026, 11, 26))
    assert before is not None and before.kind == "being_replaced"
    assert before.replaced_by == "GB 7718-2025"
    after = ref.standard_warning("GB 7718-2011", date(2027, 3, 16))
    assert after is not None and (after.severity, after.kind) == ("warning", "withdrawn")


def test_current_and_unknown_standards_give_no_warning(ref: ReferenceData) -> None:
    assert ref.standard_warning("GB 19301-2010", date(2026, 1, 1)) is None
    assert ref.standard_warning("GB 9999-1999", date(2026, 1, 1)) is None


# --- additives -------------------------------------------------------------------------------


def test_additive_limits_by_name_or_ins(ref: ReferenceData) -> None:
    by_zh = ref.additive_limits("08", "苯甲酸及其钠盐")
    assert [limit.max_level for limit in by_zh] == [Decimal("0.2")]
    assert ref.additive_limits("08", "benzoic acid and SODIUM benzoate") == by_zh
    assert ref.additive_limits("08", "211") == by_zh
    assert ref.additive_limits("08", "INS 210") == by_zh
    assert ref.additive_limits("08", "乙酰磺胺酸钾（安赛蜜）")[0].ins == ("950",)
    assert ref.additive_limits("08", "亚硝酸钠") == []
    with pytest.raises(EntryError) as caught:
        ref.additive_limits("99", "211")
    assert render_field(caught.value.field) == "food_category_code"


def test_additive_within_and_at_limit(ref: ReferenceData) -> None:
    assert ref.check_additive("04", "山梨酸钾", "202", Decimal("0.5"), "g/kg") is None
    assert ref.check_additive("04", "山梨酸钾", "202", Decimal("1.0"), "g/kg") is None
    assert ref.check_additive("04", "Sorbic acid and potassium sorbate", None,
                              Decimal("0"), "g/kg") is None


def test_additive_over_limit(ref: ReferenceData) -> None:
    violation = ref.check_additive("06", "山梨酸钾", "202", Decimal("0.08"), "g/kg")
    assert violation is not None and violation.kind == "above_limit"
    assert violation.max_level == Decimal("0.075")
    assert violation.limit is not None and violation.limit.food_category_note == \
        "cooked meat products"
    assert "0.08 g/kg exceeds the maximum 0.075 g/kg" in violation.message


def test_additive_not_permitted(ref: ReferenceData) -> None:
    violation = ref.check_additive("08", "亚硝酸钠", "250", Decimal("0.001"), "g/kg")
    assert violation is not None and violation.kind == "not_permitted"
    assert violation.max_level is None and violation.limit is None
    assert "not permitted in category 08" in violation.message
    # permitted elsewhere does not make it permitted here
    assert ref.check_additive("06", "亚硝酸钠", "250", Decimal("0.001"), "g/kg") is None


def test_additive_unit_conversion(ref: ReferenceData) -> None:
    # 0.2 g/kg == 200 mg/kg
    assert ref.check_additive("08", "苯甲酸钠", "211", Decimal("200"), "mg/kg") is None
    violation = ref.check_additive("08", "苯甲酸钠", "211", Decimal("200.1"), "mg/kg")
    assert violation is not None and violation.max_level == Decimal(200)
    assert "exceeds the maximum 200 mg/kg" in violation.message
    # wine: 0.25 g/L == 250 mg/L
    assert ref.check_additive("18", "二氧化硫", "220", Decimal("250"), "mg/L") is None
    assert ref.check_additive("18", "二氧化硫", "220", Decimal("251"), "mg/L") is not None
    with pytest.raises(EntryError, match="density") as caught:
        ref.check_additive("18", "二氧化硫", "220", Decimal("0.1"), "g/kg")
    assert render_field(caught.value.field) == "unit"


def test_convert_level() -> None:
    assert convert_level(Decimal("0.15"), "g/kg", "mg/kg") == Decimal(150)
    assert convert_level(Decimal("75"), "mg/kg", "g/kg") == Decimal("0.075")
    assert convert_level(Decimal("0.25"), "g/L", "mg/L") == Decimal(250)
    assert convert_level(Decimal("3"), "g/kg", "g/kg") == Decimal(3)
    with pytest.raises(EntryError, match="density"):
        convert_level(Decimal(1), "g/kg", "g/L")
    with pytest.raises(EntryError, match="unknown additive level unit 'ppm'"):
        convert_level(Decimal(1), "ppm", "g/kg")


@pytest.mark.parametrize(("code", "ins", "level", "unit", "field"), [
    ("99", "211", "0.1", "g/kg", "food_category_code"),
    ("29", "211", "0.1", "g/kg", "food_category_code"),
    ("08", "211", "-0.1", "g/kg", "level"),
    ("08", "211", "NaN", "g/kg", "level"),
    ("08", "211", "0.1", "ppm", "unit"),
    ("08", "E-211", "0.1", "g/kg", "ins"),
])
def test_bad_additive_filing_is_an_entry_error(ref: ReferenceData, code: str, ins: str,
                                               level: str, unit: str, field: str) -> None:
    with pytest.raises(EntryError) as caught:
        ref.check_additive(code, "苯甲酸钠", ins, Decimal(level), unit)
    assert render_field(caught.value.field) == field


def test_most_permissive_of_several_rows_applies(data_dir: Path) -> None:
    append(data_dir / ADDITIVES_FILE,
           "苯甲酸及其钠盐,Benzoic acid and sodium benzoate,210;211,08,"
           "concentrated juice drinks,1.0,g/kg,benzoic acid")
    ref = load_reference(data_dir)
    assert len(ref.additive_limits("08", "211")) == 2
    assert ref.check_additive("08", "苯甲酸钠", "211", Decimal("0.9"), "g/kg") is None
    violation = ref.check_additive("08", "苯甲酸钠", "211", Decimal("1.1"), "g/kg")
    assert violation is not None and violation.max_level == Decimal("1.0")


# --- loader ----------------------------------------------------------------------------------


def test_loader_accepts_a_bigger_table_in_the_same_columns(data_dir: Path) -> None:
    append(data_dir / CATEGORIES_FILE,
           "70,F,食品,Food,食糖,Sugar,yes,yes,optional",
           "71,E,电子产品,Electronics,移动电源,Power banks,no,yes,required")
    append(data_dir / STANDARDS_FILE,
           "GB/T 35590-2017,信息技术 便携式数字设备用移动电源通用规范,"
           "Power banks for portable digital devices,current,,2018-07-01,71",
           "GB 13104-2014,食品安全国家标准 食糖,Sugar,current,,2015-05-24,70")
    append(data_dir / ADDITIVES_FILE,
           "二氧化硫及亚硫酸盐,Sulfur dioxide and sulfites,220;221,70,white sugar,"
           "0.1,g/kg,sulfur dioxide residue")
    ref = load_reference(data_dir)
    assert len(ref.categories) == 71 and len(ref.classes) == 10
    assert ref.is_food("70") and not ref.is_food("71")
    found = ref.standard("gb/t35590-2017")
    assert found is not None and found.applies_to_categories == ("71",)
    assert ref.check_additive("70", "二氧化硫", "220", Decimal("101"), "mg/kg") is not None


def test_loader_tolerates_bom_blank_lines_and_extra_columns(tmp_path: Path) -> None:
    (tmp_path / CATEGORIES_FILE).write_text(
        "\ufeffcode,class_code,class_zh,class_en,name_zh,name_en,needs_additive_filing,"
        "needs_lot_inspection_before_shipment,unit_serialization,remark\n"
        "\n"
        "01,F,食品,Food,小麦粉,Wheat flour,yes,yes,optional,note\n", encoding="utf-8")
    (tmp_path / STANDARDS_FILE).write_text(
        "number,title_zh,title_en,status,replaced_by,effective_from,applies_to_categories\n",
        encoding="utf-8")
    (tmp_path / ADDITIVES_FILE).write_text(
        "additive_zh,additive_en,ins,food_category_code,food_category_note,max_level,unit,"
        "expressed_as\n"
        "某物,Something,—,01,,0.5,mg/kg,\n", encoding="utf-8")
    ref = load_reference(tmp_path)
    assert list(ref.categories) == ["01"]
    assert ref.standards == {}
    assert ref.additives["01"][0].ins == ()


CATEGORY_ROW = "01,F,食品,Food,小麦粉,Wheat flour,yes,yes,optional"


@pytest.mark.parametrize(("file", "line", "row", "column", "problem"), [
    (CATEGORIES_FILE, 3, CATEGORY_ROW.replace("小麦粉", "面粉"), "code",
     "duplicate category code '01'"),
    (CATEGORIES_FILE, 2, CATEGORY_ROW.replace("yes,yes", "Y,yes"), "needs_additive_filing",
     "expected yes or no, got 'Y'"),
    (CATEGORIES_FILE, 2, CATEGORY_ROW.replace("yes,yes", "yes,"),
     "needs_lot_inspection_before_shipment", "expected yes or no, got ''"),
    (CATEGORIES_FILE, 2, CATEGORY_ROW.replace("optional", "sometimes"), "unit_serialization",
     "expected one of optional, required, got 'sometimes'"),
    (CATEGORIES_FILE, 3, "02,F,食品,Foods,大米,Rice,yes,yes,optional", "class_en",
     "class F is named 食品 / Food on an earlier line, here 食品 / Foods"),
    (CATEGORIES_FILE, 2, CATEGORY_ROW.replace("01,", "0 1,"), "code",
     "'0 1' is not a valid code"),
    (CATEGORIES_FILE, 2, CATEGORY_ROW.replace("Wheat flour", ""), "name_en", "value is empty"),
    (STANDARDS_FILE, 2, "GB 19301-2010,生乳,Raw milk,current,,2010-13-01,07", "effective_from",
     "'2010-13-01' is not a real date"),
    (STANDARDS_FILE, 2, "GB 19301-2010,生乳,Raw milk,current,,2010/12/01,07", "effective_from",
     "expected a date as YYYY-MM-DD"),
    (STANDARDS_FILE, 2, "GB 19301-2010,生乳,Raw milk,obsolete,,2010-12-01,07", "status",
     "expected one of current, published, withdrawn, got 'obsolete'"),
    (STANDARDS_FILE, 2, "GB 19301-2010,生乳,Raw milk,current,,2010-12-01,07;70",
     "applies_to_categories", "unknown category code '70'"),
    (STANDARDS_FILE, 3, "GB19301-2010,生乳,Raw milk,current,,2010-12-01,07", "number",
     "duplicate standard GB 19301-2010"),
    (STANDARDS_FILE, 2, "GB 19301-2010,生乳,Raw milk,withdrawn,GB19301-2010,2010-12-01,07",
     "replaced_by", "GB 19301-2010 cannot replace itself"),
    (ADDITIVES_FILE, 2, "糖精钠,Saccharin sodium,954,22,,1.0,ppm,", "unit",
     "expected one of g/kg, mg/kg, g/L, mg/L, got 'ppm'"),
    (ADDITIVES_FILE, 2, "糖精钠,Saccharin sodium,954,22,,about 1,g/kg,", "max_level",
     "expected a number, got 'about 1'"),
    (ADDITIVES_FILE, 2, "糖精钠,Saccharin sodium,954,22,,-1,g/kg,", "max_level",
     "expected a non-negative number"),
    (ADDITIVES_FILE, 2, "糖精钠,Saccharin sodium,954,29,,1.0,g/kg,", "food_category_code",
     "category 29 (Household refrigerators) is not food"),
    (ADDITIVES_FILE, 2, "糖精钠,Saccharin sodium,E954,22,,1.0,g/kg,", "ins",
     "'E954' is not an INS number"),
])
def test_loader_rejects_malformed_rows(data_dir: Path, file: str, line: int, row: str,
                                       column: str, problem: str) -> None:
    replace_line(data_dir / file, line, row)
    with pytest.raises(ReferenceDataError,
                       match=re.escape(f"{file} line {line}, column {column}: {problem}")
                       ) as caught:
        load_reference(data_dir)
    error = caught.value
    assert (error.file, error.line, error.column) == (data_dir / file, line, column)
    assert render_field(error.field) == column


def test_loader_rejects_a_duplicate_additive_row(data_dir: Path) -> None:
    line = append(data_dir / ADDITIVES_FILE,
                  "糖精钠,Saccharin sodium,954,22,preserved fruits,0.5,g/kg,saccharin")
    with pytest.raises(ReferenceDataError,
                       match=re.escape(f"{ADDITIVES_FILE} line {line}, column additive_zh: "
                                       "糖精钠 already has a limit for category 22")):
        load_reference(data_dir)


def test_loader_rejects_wrong_shape(data_dir: Path) -> None:
    line = append(data_dir / CATEGORIES_FILE, "70,F,食品,Food,食糖,Sugar,yes,yes")
    with pytest.raises(ReferenceDataError,
                       match=re.escape(f"{CATEGORIES_FILE} line {line}: expected 9 values, "
                                       "got 8")):
        load_reference(data_dir)


def test_loader_rejects_missing_column(data_dir: Path) -> None:
    path = data_dir / STANDARDS_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("effective_from", "effective", 1),
                    encoding="utf-8")
    with pytest.raises(ReferenceDataError,
                       match=re.escape(f"{STANDARDS_FILE} line 1, column effective_from: "
                                       "column is missing from the header")):
        load_reference(data_dir)


def test_loader_rejects_missing_file_and_bad_encoding(data_dir: Path) -> None:
    (data_dir / ADDITIVES_FILE).write_bytes("糖精钠".encode("gb18030"))
    with pytest.raises(ReferenceDataError, match=f"{ADDITIVES_FILE}: not UTF-8 text"):
        load_reference(data_dir)
    (data_dir / ADDITIVES_FILE).unlink()
    with pytest.raises(ReferenceDataError, match=f"{ADDITIVES_FILE}: file not found"):
        load_reference(data_dir)
