"""How a scanned document finds its dossier: a chain of small route objects, walked in order.

Each route answers with a dossier code or ``None`` and asks the registry only through
:class:`registry.intake.Lookup`. The chain is the plug-in point (a site adds its own route, e.g. a
barcode on a municipal cover sheet) and the test seam. The default order (the product spec's flow):

1. the receipt's QR code on a cover/separator page before the document;
2. the inbox sub-folder named after a dossier code;
3. the personal ID number read by OCR, when exactly one open dossier concerns that person (as its
   applicant or as a person concerned: a spouse, a child, the deceased…, ``registry.persons``);
otherwise the document waits in the unassigned queue.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from registry import Incoming, Lookup
from vocab.kinds import RoutedBy
from vocab.text import mask_pid

log = logging.getLogger("sohoa.jobs.routes")


@dataclass(frozen=True)
class RouteHints:
    """What the job knows about a document besides its content."""

    qr_target: str | None = None  # dossier code of the receipt QR page before it
    folder: str | None = None  # dossier code named by the inbox sub-folder


class Route(Protocol):
    name: str

    def match(self, doc: Incoming, hints: RouteHints, lookup: Lookup) -> str | None: ...


def _existing(code: str | None, how: str, lookup: Lookup) -> str | None:
    if not code:
        return None
    if lookup.dossier_exists(code):
        return code
    log.warning("dossier %s named by %s does not exist; trying the next route", code, how)
    return None


class ReceiptQrRoute:
    name = RoutedBy.QR

    def match(self, doc: Incoming, hints: RouteHints, lookup: Lookup) -> str | None:
        return _existing(hints.qr_target, "the receipt QR", lookup)


class FolderRoute:
    name = RoutedBy.FOLDER

    def match(self, doc: Incoming, hints: RouteHints, lookup: Lookup) -> str | None:
        return _existing(hints.folder, "the inbox folder", lookup)


class PersonalIdRoute:
    name = RoutedBy.PID

    def match(self, doc: Incoming, hints: RouteHints, lookup: Lookup) -> str | None:
        for pid in doc.subject_pids():
            codes = lookup.open_dossiers_of(pid)
            if len(codes) == 1:
                return codes[0]
            if len(codes) > 1:
                log.info("subject %s has %d open dossiers; left for staff", mask_pid(pid), len(codes))
        return None


DEFAULT_ROUTES: tuple[Route, ...] = (ReceiptQrRoute(), FolderRoute(), PersonalIdRoute())


def first_match(doc: Incoming, hints: RouteHints, routes: Sequence[Route], lookup: Lookup) -> tuple[str, str] | None:
    """(dossier code, route name) of the first route that places ``doc``, else None."""
    for route in routes:
        code = route.match(doc, hints, lookup)
        if code:
            return code, str(route.name)
    return None
