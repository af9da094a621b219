"""One rule per kind of personal data, the same in the workbook, the dashboard and the intake form."""
from __future__ import annotations

import pytest

from etl import masking
from etl.masking import mask_body, mask_id, mask_name, mask_phone, mask_text

ID = "310105199001011234"


@pytest.mark.parametrize(("name", "shown"), [("张三丰", "张**"), ("李四", "李*"), ("王", "*"), ("欧阳娜娜", "欧***"),
                                             (" 张三 ", "张*"), ("", ""), (None, None)])
def test_names_keep_only_their_first_character(name: str | None, shown: str | None) -> None:
    assert mask_name(name) == shown


@pytest.mark.parametrize(("phone", "shown"), [("13800138000", "138****8000"), ("021-62345678", "021****5678"),
                                              ("62345678", "62****"), ("", ""), (None, None)])
def test_phones_keep_three_and_four_digits_or_two_when_short(phone: str | None, shown: str | None) -> None:
    assert mask_phone(phone) == shown


def test_resident_ids_keep_first_six_and_last_four() -> None:
    assert mask_id(ID) == "310105********1234"
    assert mask_id("310105900101123") == "310105*****1123"  # 15-digit old number
    assert mask_id("３１０１０５１９９００１０１１２３ｘ") == "310105********123X"
    assert mask_id("1234567890") == "**********"


def test_free_text_masks_ids_and_mobiles_by_the_same_rules() -> None:
    text = f"身份证{ID}，电话13800138000，楼号 12 号，订单 1234567"
    assert mask_text(text) == f"身份证{mask_id(ID)}，电话{mask_phone('13800138000')}，楼号 12 号，订单 1234567"
    assert mask_body({"staff": [{"id_number": ID, "age": 30}], "note": "１３８００１３８０００"}) == {
        "staff": [{"id_number": "310105********1234", "age": 30}], "note": "138****8000"}


def test_every_view_export_and_form_uses_this_module() -> None:
    """The workbook, the dashboard's people list, the intake receipt and the reject rows share the rule."""
    from dashboard.queries import staff as staff_queries
    from etl import export, intake, pipeline

    for module in (export, staff_queries, intake):
        for name in ("mask_name", "mask_phone", "mask_id", "mask_text"):
            if hasattr(module, name):
                assert getattr(module, name) is getattr(masking, name), (module.__name__, name)
    assert pipeline._mask_value("id_number", ID) == mask_id(ID)
    assert pipeline._mask_value("name", "张三") == "张三"
