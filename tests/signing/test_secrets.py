"""No secret in any repr: the signature profile (what is signed) is frozen and holds no key nor
passphrase; the key and what opens it live in the signer (``SignerKey``), whose repr and str
never show the passphrase or PIN — nor do those of the objects that hold it."""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest

SECRETISH = ("secret", "passphrase", "password", "pin")


def _signing_dataclasses():
    import signing

    out = []
    for m in pkgutil.iter_modules(signing.__path__):
        mod = importlib.import_module(f"signing.{m.name}")
        out += [v for v in vars(mod).values()
                if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__ == mod.__name__]
    return out


def test_every_signing_dataclass_keeps_secrets_out_of_its_repr():
    classes = _signing_dataclasses()
    assert {c.__name__ for c in classes} >= {"SignerKey", "SignatureProfile", "KeyRef", "Act", "CertifiedResult"}
    holders = []
    for cls in classes:
        for f in dataclasses.fields(cls):
            if any(w in f.name.lower() for w in SECRETISH) and not f.name.endswith("_source"):  # where, not what
                holders.append(cls.__name__)
                assert not f.repr, f"{cls.__name__}.{f.name} shows in repr"
    assert holders == ["SignerKey"]  # the one place a passphrase / PIN is kept


def test_signature_profile_is_frozen_and_holds_no_key():
    from signing import SignatureProfile

    names = {f.name for f in dataclasses.fields(SignatureProfile)}
    assert not names & {"key_ref", "secret", "env_var"}
    p = SignatureProfile(tsa_url="http://tsa.example/")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.tsa_url = ""  # type: ignore[misc]
    assert p.level == "B-T"


def test_signer_key_never_shows_its_secret():
    from signing import SignerKey
    from signing.keys import KeyRef

    pw = "mật-khẩu-bí-mật-4711"
    for key in (SignerKey("/keys/officer.p12", secret=pw.encode()),
                SignerKey("pkcs11:token=sohoa;object=officer1?pin-value=4711-secret", "SOHOA_PKCS11_PIN",
                          secret=b"4711-secret")):
        for text in (repr(key), str(key), repr([key]), f"{key}"):
            assert pw not in text and pw.encode().hex() not in text and "4711-secret" not in text, text
        assert "<set>" in repr(key)
    ref = KeyRef.parse("pkcs11:token=sohoa;object=officer1?pin-value=4711-secret")
    assert "4711-secret" not in repr(ref)


def test_opened_signers_never_show_the_passphrase(make_settings, sign_db, officer_id, tpki):
    """A Certifier and a Sealer opened with real keys and their passphrases: no repr, str or
    dataclass field's repr of them shows the passphrase."""
    from signing import Certifier, Sealer

    s = make_settings(seal_key=str(tpki.seal.p12_path))
    officer_pw, seal_pw = tpki.officer.passphrase.decode(), tpki.seal.passphrase.decode()
    assert officer_pw and seal_pw
    c = Certifier(s, sign_db, officer_id, secret=officer_pw, workers=1)
    sealer = Sealer.from_settings(s)
    try:
        assert c.key.secret == officer_pw.encode() and sealer.key.secret == seal_pw.encode()  # really held
        objects = [c, c.key, c.profile, c.engine.key, c.engine.key.ref, c.sealer, c.sealer.key, c.sealer.profile,
                   sealer, sealer.key, sealer.profile, sealer.engine.key]
        for obj in objects:
            for text in (repr(obj), str(obj)):
                for pw in (officer_pw, seal_pw):
                    assert pw not in text and pw.encode().hex() not in text, (type(obj).__name__, text)
    finally:
        c.close()
        sealer.close()
