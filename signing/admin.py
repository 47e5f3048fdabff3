"""Officers and the seal in the registry, and the dev PKI set-up (``sohoa pki dev``)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from signing.keys import KeyRef, cert_fingerprint, cert_to_pem, load_signer

DEMO_OFFICER = {"name": "Nguyễn Văn An", "title": "Phó Chủ tịch UBND xã"}
SEAL_NAME = "Dấu cơ quan (ký số lưu kho)"


class AdminError(Exception):
    pass


def read_key_cert(key_ref: str, secret: bytes | str | None = None, secret_file: str | None = None):
    """The signing certificate of a key (opening it proves the passphrase / PIN is right)."""
    ref = KeyRef.parse(key_ref)
    env_var = "SOHOA_PKCS11_PIN" if ref.kind == "pkcs11" else "SOHOA_OFFICER_PASSPHRASE"
    key = load_signer(key_ref, env_var=env_var, secret=secret, secret_file=secret_file)
    try:
        return key.cert
    finally:
        key.close()


def add_officer(db, name: str, key_ref: str, *, title: str = "", body: str = "", kind: str = "officer",
                secret: bytes | str | None = None, secret_file: str | None = None, cert=None) -> dict:
    """Register an officer (or the seal). Idempotent on (kind, certificate fingerprint)."""
    from sqlalchemy import select

    from registry.models import Officer

    if kind not in ("officer", "seal"):
        raise AdminError("kind must be officer or seal")
    if cert is None:
        cert = read_key_cert(key_ref, secret, secret_file)
    fp = cert_fingerprint(cert)
    with db.session() as s:
        row = s.scalars(select(Officer).where(Officer.kind == kind, Officer.cert_fingerprint == fp)).first()
        created = row is None
        if row is None:
            row = Officer(kind=kind, name=name, title=title or "", body=body or "", cert_pem=cert_to_pem(cert),
                          cert_fingerprint=fp, key_ref=key_ref, status="active")
            s.add(row)
        else:
            row.name, row.key_ref = name, key_ref
            if title:
                row.title = title
            if body:
                row.body = body
        s.flush()
        return {**officer_dict(row), "created": created}


def officer_dict(row) -> dict:
    return {"id": row.id, "kind": row.kind, "name": row.name, "title": row.title, "body": row.body,
            "status": row.status, "cert_fingerprint": row.cert_fingerprint, "key_ref": _redact(row.key_ref)}


def _redact(ref: str) -> str:
    return re.sub(r"(pin-value=)[^&;]*", r"\1***", ref or "")


def list_officers(db, kind: str | None = "officer") -> list[dict]:
    from sqlalchemy import select

    from registry.models import Officer

    with db.session() as s:
        q = select(Officer).order_by(Officer.id)
        if kind:
            q = q.where(Officer.kind == kind)
        return [officer_dict(r) for r in s.scalars(q)]


def revoke_officer(db, officer_id: int, pki_dir: str | Path | None = None) -> dict:
    """Mark the officer revoked (it can no longer certify). When the certificate was issued by the
    local dev CA in ``pki_dir``, it is also put on that CA's CRL."""
    from registry.models import Officer

    with db.session() as s:
        row = s.get(Officer, officer_id)
        if row is None:
            raise AdminError(f"không có người ký số {officer_id}")
        row.status = "revoked"
        info = officer_dict(row)
        pem = row.cert_pem
    info["crl_updated"] = False
    if pki_dir and pem:
        from signing.pki import DevPKI

        if DevPKI.exists(pki_dir):
            from cryptography import x509

            pki = DevPKI.load(pki_dir)
            cert = x509.load_pem_x509_certificate(pem.encode())
            if cert.issuer == pki.ca_cert.subject:
                pki.revoke(cert)
                info["crl_updated"] = True
    return info


# -- config file ----------------------------------------------------------------------------------

def update_toml(path: Path, values: dict) -> None:
    """Set top-level keys in a TOML file, keeping everything else (comments, tables) as is."""
    import tomllib

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text:
        tomllib.loads(text)  # refuse to touch a broken file
    lines = text.splitlines()
    first_table = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
    for k, v in values.items():
        rendered = f"{k} = {json.dumps(v, ensure_ascii=False)}"
        pat = re.compile(rf"^\s*{re.escape(k)}\s*=")
        for i in range(first_table):
            if pat.match(lines[i]):
                lines[i] = rendered
                break
        else:
            lines.insert(first_table, rendered)
            first_table += 1
    out = "\n".join(lines) + "\n"
    tomllib.loads(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(out, encoding="utf-8")
    tmp.replace(path)


# -- dev PKI ----------------------------------------------------------------------------------------

def setup_dev_pki(settings, db=None, *, officer_name: str | None = None, officer_title: str | None = None,
                  crl_url: str | None = None) -> dict:
    """Create (once) a dev PKI under ``settings.pki_dir``: CA (``ca.pem``), CRL (``ca.crl``), the
    demo officer, the organisation seal and a TSA (PKCS#12 + ``.p12.pass`` files, mode 0600);
    register the officer and the seal; write ``seal_key`` and ``trust_roots`` into
    ``$SOHOA_HOME/sohoa.toml``. Running it again changes nothing."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from signing.pki import DevPKI

    d = Path(settings.pki_dir)
    d.mkdir(parents=True, exist_ok=True)
    created = False
    if DevPKI.exists(d):
        pki = DevPKI.load(d)
    else:
        url = crl_url or f"http://{settings.web_host}:{settings.web_port}/pki/ca.crl"
        pki = DevPKI.create(d, crl_url=url, ca_name=f"sohoa dev root CA ({settings.agency_code})")
        created = True
    unit = settings.unit_name
    o_name = officer_name or DEMO_OFFICER["name"]
    o_title = officer_title or DEMO_OFFICER["title"]
    issued = {}
    for name, cn, title, org, kind in (("officer", o_name, o_title, unit, "signing"),
                                       ("seal", unit, None, unit, "signing"),
                                       ("tsa", f"sohoa dev TSA ({settings.agency_code})", None, "sohoa dev", "tsa")):
        p = pki.p12_path(name)
        if not p.exists():
            pki.issue(name, cn, title=title, org=org, kind=kind)
            created = True
        issued[name] = p
    pki.write_crl()
    result = {"pki_dir": str(d), "created": created, "ca": str(pki.ca_pem_path), "crl": str(pki.crl_path),
              "officer_key": str(issued["officer"]), "seal_key": str(issued["seal"]),
              "tsa_key": str(issued["tsa"])}
    if db is not None:
        from asn1crypto import x509 as asn1_x509
        from cryptography.hazmat.primitives.serialization import Encoding

        def cert_of(name):
            pw = (d / f"{name}.p12.pass").read_bytes().strip()
            _, c, _ = pkcs12.load_key_and_certificates(pki.p12_path(name).read_bytes(), pw)
            return asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))

        off = add_officer(db, o_name, str(issued["officer"]), title=o_title, body=unit, kind="officer",
                          cert=cert_of("officer"))
        seal = add_officer(db, SEAL_NAME, str(issued["seal"]), title="", body=unit, kind="seal",
                           cert=cert_of("seal"))
        result["officer_id"], result["seal_id"] = off["id"], seal["id"]
    toml_path = Path(settings.home) / "sohoa.toml"
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    roots = [r.strip() for r in (settings.trust_roots or "").split(",") if r.strip()]
    if str(pki.ca_pem_path) not in roots:
        roots.append(str(pki.ca_pem_path))
    values = {"trust_roots": ",".join(roots)}
    if not settings.seal_key or settings.seal_key == str(issued["seal"]):
        values["seal_key"] = str(issued["seal"])
        values["seal_passphrase_file"] = str(d / "seal.p12.pass")
    update_toml(toml_path, values)
    result["config"] = str(toml_path)
    return result
