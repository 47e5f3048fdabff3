"""Process-pool policy for batches of certified copies, kept out of the domain code.

One Engine per worker process (the key is loaded once per process by the initializer); only
hashes and paths cross process boundaries, never megabytes of PDF. Start method: ``fork`` where
it is safe, ``forkserver`` in a multi-threaded parent (a web server: forking it can deadlock),
``spawn`` when a PKCS#11 session is involved (a token session must not cross a fork).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from signing.keys import SignerKey
from signing.signer import Engine, SignatureProfile

_ENGINE: Engine | None = None
_SEALER: Engine | None = None

Signing = tuple[SignerKey, SignatureProfile]  # who signs, and what is signed


def _init(signer: Signing, sealer: Signing | None) -> None:
    global _ENGINE, _SEALER
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _ENGINE = Engine(signer[1], key=signer[0])
    _SEALER = Engine(sealer[1], key=sealer[0]) if sealer is not None else None


def _job(job: dict) -> dict:
    assert _ENGINE is not None, "pool initializer did not run"
    return run_job(_ENGINE, _SEALER, job)


def run_job(engine: Engine, sealer: Engine | None, job: dict) -> dict:
    """Read the original from the store, certify (and seal), write the copy to the store (and to
    ``out_path``). Returns ``{"sha256", "size", "path", "pages_added"}``."""
    from registry.store import Store

    store = Store(job["store_root"])
    pdf = store.read(job["src_sha"])
    out = engine.certify(pdf, job["info"], seal_slot=sealer.seal_slot() if sealer is not None else None)
    if sealer is not None:
        out = sealer.seal(out)
    sha, path = store.put_bytes(out)
    dest = str(path)
    if job.get("out_path"):
        target = Path(job["out_path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(out)
        os.replace(tmp, target)
        dest = str(target)
    return {"sha256": sha, "size": len(out), "path": dest, "pages_added": int(engine.added_page)}


def start_method(*keys: SignerKey | None) -> str:
    if any(k is not None and k.token for k in keys) or not hasattr(os, "fork"):
        return "spawn"
    return "forkserver" if threading.active_count() > 1 else "fork"


def make_pool(workers: int, signer: Signing, sealer: Signing | None) -> ProcessPoolExecutor:
    import multiprocessing as mp

    ctx = mp.get_context(start_method(signer[0], sealer[0] if sealer is not None else None))
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init, initargs=(signer, sealer))


def submit(pool: ProcessPoolExecutor, job: dict):
    return pool.submit(_job, job)
