"""An office in process for the security tests: the real app (FastAPI, the staff UI and the API) over
a real SQLite registry, two communes under one district, one account per role in each commune, and
a TestClient per signed-in account."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from starlette.testclient import TestClient

from registry.staff import ROLES, add_staff
from registry.units import add_unit, set_staff_unit

PW = "mật-khẩu-dài-2026"
UNITS = ("XA", "XB")  # two communes under district H


@dataclass
class Office:
    app: object
    db: object
    settings: object
    clients: list = field(default_factory=list)

    def user(self, role: str, unit: str = "XA") -> str:
        return f"{role}-{unit.lower()}"

    def client(self) -> TestClient:
        c = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        c.__enter__()
        self.clients.append(c)
        return c

    def signed_in(self, role: str, unit: str = "XA", password: str = PW) -> TestClient:
        c = self.client()
        r = login(c, self.user(role, unit), password)
        assert r.status_code == 303, r.text[:500]
        return c


def csrf_of(c: TestClient, path: str = "/login") -> str:
    html = c.get(path).text
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:300]
    return m.group(1)


def login(c: TestClient, username: str, password: str = PW):
    return c.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(c)})


def post(c: TestClient, path: str, data: dict | None = None, **kw):
    token = c.cookies and csrf_of(c, "/login")
    return c.post(path, data={**(data or {}), "csrf_token": token}, **kw)


def make_office(settings, db, **extra) -> Office:
    from sohoa.web.app import create_app

    settings.extra.update(extra)
    with db.session() as s:
        add_unit(s, "H", "Huyện Thử", level="district")
        for u in UNITS:
            add_unit(s, u, f"Xã {u}", level="commune", parent_code="H")
        for u in UNITS:
            for role in ROLES:
                add_staff(s, f"{role}-{u.lower()}", PW, name=f"{role} {u}", role=role)
                set_staff_unit(s, f"{role}-{u.lower()}", u)
    return Office(create_app(settings, db), db, settings)


@pytest.fixture
def office(settings, db):
    o = make_office(settings, db)
    yield o
    for c in o.clients:
        c.__exit__(None, None, None)


# two citizens, one dossier each, one per commune, each with a scanned birth certificate attached
PIDS = {"XA": "001088012345", "XB": "036085004321"}


def seed_world(office) -> dict:
    from registry import service
    from registry.models import Document
    from registry.store import Store

    out = {}
    store = Store(office.settings.store_dir)
    with office.db.session() as s:
        for unit, pid in PIDS.items():
            d = service.create_dossier(s, procedure="1.001193", subject=pid, name=f"Công dân {unit}",
                                       agency=office.settings.agency_code, created_by="test", unit=unit)
            digest, _ = store.put_bytes(b"%PDF-1.4\n% " + unit.encode() + b"\n%%EOF\n")
            doc = Document(sha256=digest, doc_type="khai_sinh", type_confidence=0.9, pages=1, source_name=f"{unit}.pdf",
                           fields={"so_dinh_danh": pid, "ho_ten": f"Công dân {unit}"}, subject_id=d.subject_id)
            s.add(doc)
            s.flush()
            service.attach(s, d, doc)
            out[unit] = {"code": d.code, "doc": doc.id, "pid": pid, "subject_id": d.subject_id}
    return out
