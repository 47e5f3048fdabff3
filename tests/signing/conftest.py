"""Fixtures for signing tests: a real test PKI shaped like a CA's (RSA-4096 root and issuing CA,
RSA-3072 end entities with policies, CRL distribution points and AIA; an ECDSA P-384 chain)
whose CRLs, CA certificates and TSA are served on loopback; a temp SQLite registry and Store.
Only the roots are configured. No mocks: pyHanko signs and validates for real."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Run as `pytest` from elsewhere than the repo root, this very directory (tests/signing, on
# sys.path through tests/) would shadow the `signing` package as a namespace package.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
_mod = sys.modules.get("signing")
if _mod is not None and getattr(_mod, "__file__", None) is None:
    del sys.modules["signing"]


@pytest.fixture(scope="session")
def tpki(tmp_path_factory):
    from sohoa.dev.testpki import make_test_pki

    d = tmp_path_factory.mktemp("signhome") / "pki"
    t = make_test_pki(d)
    yield t
    t.stop()


@pytest.fixture(scope="session")
def scan_pdf() -> bytes:
    from sohoa.dev.scans import scanned_pdf

    return scanned_pdf(dpi=100, noise=False)


@pytest.fixture
def sign_home(tmp_path, tpki) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "pki").mkdir()  # settings.pki_dir: no local CRLs — they come from the distribution points
    return home


def _settings(home: Path, tpki, **kw):
    from sohoa.config import load_settings

    base = dict(trust_roots_gov=",".join(tpki.roots), tsa_url="", seal_key="", dev_mode=True,
                unit_name="Ủy ban nhân dân xã Tân Phú")
    base.update(kw)
    return load_settings(home, env={}, workers=2, **base)


@pytest.fixture
def make_settings(sign_home, tpki):
    def make(**kw):
        return _settings(sign_home, tpki, **kw)
    return make


@pytest.fixture
def trust(tpki):
    from signing import Trust

    return Trust.build(gov=tpki.roots)


@pytest.fixture
def sign_db(sign_home):
    from registry.db import Database

    db = Database(f"sqlite:///{sign_home / 'sohoa.db'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def put_doc(sign_home):
    """Put a PDF in the Store and a Document row for it; returns the document id."""
    from registry.models import Document
    from registry.store import Store

    store = Store(sign_home / "store")

    def put(db, data: bytes, text: str = "GIẤY KHAI SINH", doc_type: str = "khai_sinh") -> int:
        sha, _ = store.put_bytes(data)
        with db.session() as s:
            doc = Document(sha256=sha, size=len(data), pages=1, text=text, text_folded=text.lower(),
                           doc_type=doc_type)
            s.add(doc)
            s.flush()
            return doc.id
    return put


@pytest.fixture
def add_off(sign_db, trust):
    """Register an officer from a test certificate (checked like ``sohoa officer add``)."""
    from signing import add_officer

    def add(issued, title="Phó Chủ tịch UBND xã", **kw):
        return add_officer(sign_db, str(issued.p12_path), title=title, body="Ủy ban nhân dân xã Tân Phú",
                           trust=trust, **kw)["id"]
    return add


@pytest.fixture
def officer_id(add_off, tpki):
    return add_off(tpki.officer)
