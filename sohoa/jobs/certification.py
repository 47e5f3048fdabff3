"""Certifying a batch of requests, the one path the officer's page and ``sohoa certify`` share.

1. :func:`recover` puts back in the queue what a killed batch left ``signing`` (its process is
   gone, or its lease ran out) — at start (``sohoa run`` / ``serve``) and before every batch.
2. The caller has opened a :class:`signing.Certifier` (officer, key and certificate checked:
   a refused key claims nothing).
3. :func:`certify_requests` claims the requests for this process (``host:pid``, with a lease),
   signs them in one call (each original with its number of copies; a remote key authorizes the
   batch once); each act recorded settles its request in the same
   transaction (:mod:`registry.certification`, one audit row per act); what was not signed goes
   back to the queue (its allocated number is taken again by its retry).
:func:`certify_documents` (the command line) first asks for the documents' requests, or takes
the clerk's pending ones.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field

from ingest.journal import lease_owner_alive  # the journal's lease owners are "host:pid" too
from registry import certification
from vocab.errors import SohoaError
from vocab.kinds import CertState


@dataclass
class Batch:
    """What a batch did: the requests certified (request id, ``signing.CertifiedResult``), the
    certificate check's warnings, and the failure that stopped it (None: all signed)."""

    certified: list[tuple[int, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failure: SohoaError | None = None
    settled: int = 0  # requests certified, counting those recorded before the failure


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def recover(db) -> list[int]:
    """Requests left ``signing`` by a batch that is gone go back to ``pending``."""
    with db.session() as s:
        return certification.recover(s, lease_owner_alive)


def _lease(n: int) -> dt.timedelta:
    return certification.LEASE + dt.timedelta(minutes=2) * n


def certify_requests(cert, db, request_ids, *, actor: str, out_dir=None, book: str | None = None) -> Batch:
    """Claim ``request_ids`` (all pending, else :class:`~vocab.errors.Conflict` and nothing
    claimed), certify them with ``cert`` and settle or release each. A signing failure is
    returned in :attr:`Batch.failure` (what was recorded before it stays certified)."""
    from signing import SigningError

    recover(db)
    me = owner()
    ids = sorted({int(i) for i in request_ids})
    with db.session() as s:
        claimed = certification.claim(s, ids, actor=actor, owner=me, lease=_lease(len(ids)))
    out = Batch(warnings=list(cert.check.warnings))
    try:  # one signing call for the batch: a remote key asks for one authorization
        results = cert.certify([c.document_id for c in claimed], copies={c.document_id: c.copies for c in claimed},
                               out_dir=out_dir, book=book, requests={c.document_id: c.id for c in claimed},
                               actor=actor)
        out.certified = [(c.id, r) for c, r in zip(claimed, results)]
    except SigningError as exc:  # a failed signature, an unreachable TSA: the rest goes back to the queue
        out.failure = exc
    finally:
        with db.session() as s:
            certification.release(s, ids, actor=actor, owner=me,
                                  reason=out.failure.message if out.failure is not None else "")
            out.settled = sum(1 for v in certification.states(s, ids).values() if v == CertState.CERTIFIED)
    return out


def certify_documents(cert, db, document_ids, *, copies: int, actor: str, out_dir=None,
                      book: str | None = None) -> Batch:
    """The command line's batch: a request per document (the clerk's pending one is taken, with
    ``copies``), then :func:`certify_requests`."""
    recover(db)
    with db.session() as s:
        ids = [certification.request(s, int(d), copies, actor=actor, reuse_pending=True) for d in document_ids]
    return certify_requests(cert, db, ids, actor=actor, out_dir=out_dir, book=book)
