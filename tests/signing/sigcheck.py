"""Independent checks of signed PDFs: pyHanko's own validator (only the roots configured, no
fetching) and poppler's ``pdfsig`` with an NSS database that trusts only the roots."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path


def dead_url() -> str:
    """A TSA address nothing listens on (a port just freed)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/tsa"


def _roots(tpki_or_roots):
    from signing.trust import load_certs

    roots = getattr(tpki_or_roots, "roots", tpki_or_roots)
    return load_certs(roots if isinstance(roots, (list, tuple)) else [roots])


def validate_all(data: bytes, tpki, expect_timestamp: bool = False, lt: bool = False):
    """Every signature passes pyHanko's validation (intact, valid, trusted, bottom line) with
    ``allow_fetching=False`` against the roots alone; with ``lt`` the revocation data must be in
    the file (PAdES-LT validation, hard fail)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    roots = _roots(tpki)
    r = PdfFileReader(io.BytesIO(data))
    sigs = r.embedded_regular_signatures
    assert sigs, "no signature"
    out = []
    for sig in sigs:
        if lt:  # revocation data for the whole chain must come from the file's DSS
            vc = DocumentSecurityStore.read_dss(r).as_validation_context(
                {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"})
            st = validate_pdf_signature(sig, vc, ts_validation_context=DocumentSecurityStore.read_dss(r)
                                        .as_validation_context({"trust_roots": roots, "allow_fetching": False,
                                                                "revocation_mode": "hard-fail"}))
        else:
            vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
            st = validate_pdf_signature(sig, vc)
        assert st.intact and st.valid, st.pretty_print_details()
        assert st.trusted, st.pretty_print_details()
        assert st.bottom_line, st.pretty_print_details()
        if expect_timestamp:
            assert st.timestamp_validity is not None and st.timestamp_validity.trusted
        out.append(st)
    return out


def pdfsig(data: bytes, roots) -> list[dict]:
    """poppler's verdict on each signature, with an NSS database trusting only ``roots``."""
    assert shutil.which("pdfsig") and shutil.which("certutil"), "poppler-utils and libnss3-tools are required"
    with tempfile.TemporaryDirectory() as d:
        nss = Path(d) / "nss"
        nss.mkdir()
        subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
        for i, root in enumerate(roots if isinstance(roots, (list, tuple)) else [roots]):
            subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", f"root{i}", "-t", "CT,C,C", "-i", str(root)],
                           check=True, capture_output=True)
        f = Path(d) / "x.pdf"
        f.write_bytes(data)
        out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(f)], capture_output=True, text=True).stdout
    sigs = []
    for block in re.split(r"\nSignature #\d+:\n", out)[1:]:
        field = lambda name: (re.search(rf"- {name}: (.*)", block) or [None, ""])[1].strip()  # noqa: E731
        sigs.append({"field": field("Signature Field Name"), "type": field("Signature Type"),
                     "validation": field("Signature Validation"), "certificate": field("Certificate Validation")})
    return sigs


def pdfsig_all_valid(data: bytes, roots) -> list[dict]:
    """Every CMS signature (not the RFC 3161 document timestamps, which poppler does not check)
    is 'Signature is Valid.' and 'Certificate is Trusted.'."""
    sigs = pdfsig(data, roots)
    cms = [s for s in sigs if s["type"] == "ETSI.CAdES.detached"]
    assert cms, sigs
    for s in cms:
        assert s["validation"] == "Signature is Valid." and s["certificate"] == "Certificate is Trusted.", s
    return sigs
