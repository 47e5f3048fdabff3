"""Units of the office (the spec's need-to-know rule): a tree of units, staff in one of them, and
the units an account may see — its own and those below it, never a sibling's."""
from __future__ import annotations

import pytest


def test_units_tree_and_visibility(sohoa):
    sohoa.env["SOHOA_STAFF_PASSWORD"] = "mat-khau-rat-dai-1"
    sohoa.run("unit", "add", "H-TINH", "--name", "Văn phòng UBND tỉnh", "--level", "province")
    sohoa.run("unit", "add", "H-HUYEN", "--name", "UBND huyện Tân Phú", "--level", "district", "--parent", "H-TINH")
    sohoa.run("unit", "add", "X-A", "--name", "UBND xã Phú Lâm", "--parent", "H-HUYEN")
    sohoa.run("unit", "add", "X-B", "--name", "UBND xã Phú Mỹ", "--parent", "H-HUYEN")
    listed = {u["code"]: u for u in sohoa.json("unit", "list")}
    assert listed["X-A"]["parent_code"] == "H-HUYEN" and listed["H-TINH"]["level"] == "province"
    assert "000.00.01.H29" in listed  # the office's own unit, made by init
    assert sohoa.json("staff", "add", "xa_a", "--unit", "X-A")[0]["unit"] == "X-A"
    assert sohoa.json("staff", "add", "huyen", "--unit", "H-HUYEN")[0]["unit"] == "H-HUYEN"
    # a cycle and an unknown unit are refused with a Vietnamese line, and nothing is written
    p = sohoa.run("unit", "add", "H-TINH", "--name", "x", "--parent", "X-A", check=False)
    assert p.returncode == 2 and "chính nó" in p.stderr
    p = sohoa.run("staff", "add", "ghost", "--unit", "KHONG-CO", check=False)
    assert p.returncode == 3 and "KHONG-CO" in p.stderr
    assert "ghost" not in {s.get("username") for s in sohoa.json("staff", "list")}

    from registry.db import Database
    from registry.models import Staff
    from registry.units import visible_units
    from sqlalchemy import select

    db = Database(f"sqlite:///{sohoa.home / 'sohoa.db'}")
    with db.session() as s:
        by = {st.username: st for st in s.scalars(select(Staff))}
        assert visible_units(s, by["xa_a"], "000.00.01.H29") == {"X-A"}
        assert visible_units(s, by["huyen"], "000.00.01.H29") == {"H-HUYEN", "X-A", "X-B"}


@pytest.mark.parametrize("code", ["", "có dấu", "a b", "x" * 65])
def test_bad_unit_codes_are_refused(sohoa, code):
    p = sohoa.run("unit", "add", code, "--name", "Tên", check=False)
    assert p.returncode == 2 and "Mã đơn vị" in p.stderr
