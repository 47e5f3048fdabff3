"""ingest/ — the watched scan folder: which files to take and when (``files``, ``watcher``), and the
durable journal that owns every state change of a file (``journal``).

Public face::

    InboxWatcher(inbox, on_batch, quiet=, rescan=, polling=)   finished files, in batches
    Candidate                                                  a file (or folder run) ready to take
    Journal(db, Paths(...))  take → claim → finishing / quarantine / retry_later → finish_files; recover
    Claimed                                                    a leased entry, as the job sees it
"""
from ingest.journal import Claimed, Journal, Paths
from ingest.watcher import Candidate, InboxWatcher

__all__ = ["InboxWatcher", "Candidate", "Journal", "Paths", "Claimed"]
