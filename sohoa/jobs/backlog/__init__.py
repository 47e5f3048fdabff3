"""Backlog digitization: results issued before sohoa, scanned in bulk, become digitized, sealed,
reusable Results of their subjects (``sohoa backlog import SOURCE [--manifest FILE]``).

The data path of one run, a module each:

    manifest   read the manifest (CSV or XLSX), list SOURCE, plan the rows to journal
    importer   journal every scan (registry.backlog) → claim a few → read their pages through the
               ingest core (ingest.core, as the inbox job does) → check, seal, record, one commit
               per scan; a killed run resumed is the same run, and its report counts the whole run
    decision   each scan checked against its manifest row: the result to record, or a review reason
    review     an officer settles the review queue (corrected row, read again, recorded)

A manifest row that OCR contradicts (another ID number on the page, another document type) goes
to the review queue with the reason, never silently in; a scan without a row is typed and
attributed by OCR alone, and what OCR cannot settle goes to review too.
"""
from sohoa.jobs.backlog.decision import REVIEW_REASONS, Review, decide
from sohoa.jobs.backlog.importer import (BACKLOG_TASK, BacklogContext, Importer, Outcome, process_items,
                                         report)
from sohoa.jobs.backlog.manifest import HEADER, ManifestRow, plan, read_manifest
from sohoa.jobs.backlog.review import CORRECTABLE, StillInReview, correct_row, settle

__all__ = ["HEADER", "ManifestRow", "read_manifest", "plan", "decide", "Review", "REVIEW_REASONS",
           "BacklogContext", "process_items", "Importer", "Outcome", "report", "BACKLOG_TASK", "settle",
           "correct_row", "StillInReview", "CORRECTABLE"]
