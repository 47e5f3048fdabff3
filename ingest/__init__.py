"""ingest/ — the watched scan folder: which files to take and when (``files``, ``watcher``), the
durable journal that owns every state change of a file (``journal``), and the ingest core that
reads scans into documents for every job that does (``core``: the inbox job and the backlog).

Public face::

    InboxWatcher(inbox, on_batch, quiet=, rescan=, polling=, empty_timeout=)   finished files, in batches
    Candidate                                                  a file (or folder run) ready to take
    Journal(db, Paths(...))  take → claim → finishing / quarantine / retry_later / defer / retake
                             → finish_files; recover; changed (bytes no longer those journaled);
                             retry_quarantined / delete_quarantined (staff, audited: web and CLI)
    Arrival(folder, name)    a file delivered whole into the inbox (browser upload)
    Claimed                                                    a leased entry, as the job sees it
    reasons.explain(code, detail) / reasons.for_exception(exc)  the clerk's reason (Vietnamese) + detail
    core.Budget.of(settings), core.count_pages, core.read_scans, core.read_scan, core.incoming
                             pages read with the pixel budget, a failed page again alone, a dead
                             page worker signalled; the registry's Incoming built (and sealed)
"""
from ingest import core, reasons
from ingest.journal import Arrival, Claimed, Journal, Paths
from ingest.watcher import Candidate, InboxWatcher

__all__ = ["InboxWatcher", "Candidate", "Journal", "Paths", "Claimed", "Arrival", "reasons", "core"]
