"""Decision 766/QĐ-TTg indicators for a fixture period, checked against figures counted by hand;
`sohoa report` and `GET /api/v1/indicators` give the same figures."""
from __future__ import annotations

import datetime as dt

import httpx

from registry import indicators, lifecycle, service
from registry.auth import add_client
from registry.reuse import reuse_from_national_store, reuse_into_dossier
from registry.store import Store
from tests.api.apitest_helpers import ServerThread, pdf_bytes
from tests.once_helpers import Cli, id_card_fields, intake_document, person
from vocab.clock import VN_TZ

UNIT = "77.001.H29"


def vn(m, d, hh=9, mm=0):
    return dt.datetime(2026, m, d, hh, mm, tzinfo=VN_TZ)


def _fixture(s, store):
    """The period is 02/11/2026 – 06/11/2026 (Vietnam time), unit 77.001.H29.

    D1 1.001193 (to_khai, cccd)          both scanned; completed on time with an electronic result
    D2 1.001193                          cccd reused from D1, to_khai exempt (comparison); completed
                                         late with a paper-only result
    D3 1.001022 (to_khai, cccd, khai_sinh) khai_sinh from the national store, cccd replaced by national
                                         data, to_khai missing; open
    D4 1.001193 received online          nothing recorded: both exempt (online); completed, no result
    D5 1.004873 (to_khai, cccd)          nothing: both missing; open
    D8 1.001193, 06/11 23:30             cccd scanned, to_khai missing; open (last minutes of the period)
    outside: D6 received 09/11, D7 received 01/11 23:30, D9 of another unit
    """
    an, binh = person("Nguyễn Văn An", 1988), person("Trần Văn Bình", 1975)
    card = intake_document(s, store, doc_type="cccd", fields=id_card_fields(an))
    form = intake_document(s, store, doc_type="to_khai", fields={"so_dinh_danh": an.pid})
    result1 = intake_document(s, store, doc_type="khai_sinh", fields={"so_dinh_danh": an.pid})
    result2 = intake_document(s, store, doc_type="khai_sinh", fields={"so_dinh_danh": an.pid, "so": "2"})

    def dossier(proc, when, who=an, unit=UNIT, channel="counter"):
        return service.create_dossier(s, procedure=proc, subject=who.pid, agency=unit, now=when, channel=channel)

    d1 = dossier("1.001193", vn(11, 2))
    service.assign_document(s, card.id, d1.code, actor="test")
    service.assign_document(s, form.id, d1.code, actor="test")
    lifecycle.complete(s, d1, actor="test", result_document_id=result1.id, now=vn(11, 2, 11))
    d2 = dossier("1.001193", vn(11, 3))
    reuse_into_dossier(s, d2, card.id, actor="test")
    service.exempt_component(s, d2, "to_khai", "comparison", actor="test")
    lifecycle.complete(s, d2, actor="test", result_document_id=result2.id, electronic=False, now=vn(11, 10))
    d3 = dossier("1.001022", vn(11, 4))
    reuse_from_national_store(s, d3, doc_type="khai_sinh", data=pdf_bytes("kho quốc gia"), store=store,
                              reference="KHO-1", actor="test")
    service.national_data_component(s, d3, "cccd", source="CSDL quốc gia về dân cư", actor="test")
    d4 = dossier("1.001193", vn(11, 5), who=binh, channel="online")
    lifecycle.complete(s, d4, actor="test", now=vn(11, 5, 10))
    dossier("1.004873", vn(11, 6), who=binh)
    d8 = dossier("1.001193", vn(11, 6, 23, 30), who=binh)
    service.assign_document(s, intake_document(s, store, doc_type="cccd", fields=id_card_fields(binh)).id,
                            d8.code, actor="test")
    d6 = dossier("1.001193", vn(11, 9))
    service.assign_document(s, intake_document(s, store, doc_type="to_khai", fields={}).id, d6.code, actor="test")
    dossier("1.001193", vn(11, 1, 23, 30))
    dossier("1.001193", vn(11, 4), unit="77.002.H29")


# counted by hand from the fixture above
EXPECTED = {
    "received": 6,  # D1 D2 D3 D4 D5 D8
    "digitization_base": 5,  # D4's components are all exempt: it leaves the denominator
    "with_digitized_components": 4, "with_digitized_components_rate": 0.8,  # D1 D2 D3 D8
    "with_reused_components": 2, "with_reused_components_rate": 0.4,  # D2 (component) D3 (national store)
    "with_national_store_components": 1, "with_national_store_components_rate": 0.2,  # D3
    "with_national_data": 1, "with_national_data_rate": 0.2,  # D3
    "resolved": 3, "resolved_rate": 0.5,  # D1 D2 D4 of 6
    "resolved_with_digitized_result": 2, "resolved_with_digitized_result_rate": 0.6667,  # D1 D2 of 3
    "results_electronic": 1, "electronic_result_rate": 0.3333,  # D1
    "completed_on_time": 2, "on_time_rate": 0.6667,  # D1, D4; D2 was due 04/11, completed 10/11
    # 13 required components: D1 2 + D2 2 + D3 3 + D4 2 + D5 2 + D8 2
    "components": {"scanned": 3, "reused_component": 1, "reused_result": 0, "reused_national": 1,
                   "national_data": 1, "exempt": 3, "missing": 4, "required": 13, "required_non_exempt": 10},
    "reused_components": 2, "required_components": 10, "reuse_rate": 0.2,
    "overdue_open": 3,  # D3 D5 D8, on 01/12/2026
}


def test_indicator_figures_match_a_hand_count(home, db, settings):
    with db.session() as s:
        _fixture(s, Store(settings.store_dir))
    frm, to = dt.date(2026, 11, 2), dt.date(2026, 11, 6)
    with db.session() as s:
        got = indicators.compute(s, frm, to, UNIT, now=vn(12, 1))
        token = add_client(s, "so-tttt", "reuse:read")[1]
    assert {k: got[k] for k in EXPECTED} == EXPECTED

    # the same figures from the command line and from the API (overdue counts on today's date)
    args = ("--from", "2026-11-02", "--to", "2026-11-06", "--unit", UNIT)
    cli = Cli(home).ok("report", *args)[0]
    from sohoa.web.app import create_app

    with ServerThread(create_app(settings, db)) as srv:
        r = httpx.get(srv.url + "/api/v1/indicators", params={"from": "2026-11-02", "to": "2026-11-06", "unit": UNIT},
                      headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    api = r.json()
    for key in EXPECTED:
        if key != "overdue_open":
            assert cli[key] == api[key] == EXPECTED[key], key
    from click.testing import CliRunner

    from sohoa.cli import cli as root

    human = CliRunner().invoke(root, ["report", *args], env={"SOHOA_HOME": str(home)}).output
    assert "có thành phần tái sử dụng" in human and "40.0% (2/5)" in human and "80.0% (4/5)" in human
