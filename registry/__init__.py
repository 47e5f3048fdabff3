"""registry/ — the system of record (the spec's registry model): SQLAlchemy 2.0 models, Alembic migrations, the
content-addressed store, and the operations on them. No HTTP, and nothing above it is imported.

Public face (callers use these names, or the listed modules as namespaces)::

    Database(url)                       engine + unit of work (``with db.session() as s``), migrations
    Store(dir)                          content-addressed files: ``put_bytes`` → (sha256, path)
    Incoming, FieldRead, IntakeTx       the ingest job's one door: record a scan and attach it
    Lookup, Placement, Recorded         what routes may ask; what the intake answers
    service     procedures, subjects, dossiers, components, staff corrections, audit
    reuse       once-only: a subject's reusable documents, reuse into a dossier, the ledger
    lifecycle   pause / resume / complete / apology / return, late flags
    outbox      portal sync: events written with each change, sender side (heads, acks, dead letters)
    indicators  the province's figures;  shapes  one JSON builder per entity
    auth        API clients and scoped tokens;  staff  web accounts;  integrity  store check
    codes       dossier codes and the receipt's QR payload;  models  the typed ORM models
    subjects    whose a document is (the ID numbers it names);  units  the office's units, who sees what
    components  the state of each required component;  metadata  document metadata and validity
    population  the identity check at intake (pluggable; its HTTP client is sohoa.jobs.population)
    queues      the clerk's work queues (journal, quarantine, unassigned suggestions);  history  an
                object's changes from the audit log;  pages  page operations (rotate, split, merge, move)
    errors      the registry's typed refusals
    (the identifier rules themselves — ID numbers, tax codes, dates — are ``vocab.identifiers``)
"""
from registry.db import Database
from registry.intake import FieldRead, Incoming, IntakeTx, Lookup, Placement, Recorded
from registry.store import Store

__all__ = ["Database", "Store", "Incoming", "FieldRead", "IntakeTx", "Lookup", "Placement", "Recorded",
           "service", "reuse", "lifecycle", "outbox", "indicators", "shapes", "auth", "staff", "integrity",
           "codes", "models", "subjects", "units", "components", "metadata", "population", "errors", "queues",
           "history", "pages"]
