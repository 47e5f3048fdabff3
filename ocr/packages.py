"""Data files shipped inside installed packages (a model, a word list), found without importing
the package: sohoa uses the file only, and the package's own imports (a GUI build of OpenCV, a
machine-learning stack) stay out of the OCR workers."""
from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["package_file"]


def package_file(package: str, relative: str) -> Path | None:
    """``relative`` inside the installed ``package``'s folder, or None when the package or the
    file is not there."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    return path if path.is_file() else None
