#!/usr/bin/env bash
# Installs what sohoa needs on a Debian machine with Python 3.11: the Debian packages that are
# missing (Tesseract with Vietnamese, poppler, fonts, SoftHSM2), then a virtualenv in .venv with
# sohoa and its Python dependencies. Usage: bash scripts/install.sh [pip extras, e.g. test]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
debs=(tesseract-ocr tesseract-ocr-vie poppler-utils qpdf ghostscript fonts-noto-core fonts-dejavu-core
      fonts-liberation2 fonts-freefont-ttf softhsm2 libnss3-tools samba smbclient)
debs+=(postgresql-client)  # pg_dump / pg_restore: `sohoa backup` / `restore` in the scaled mode
[ -n "${SOHOA_EXTRA_DEBS:-}" ] && debs+=(${SOHOA_EXTRA_DEBS})
need=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
.venv/bin/python -m pip install -q -e "$spec" 2>&1 | grep -v -E "^(WARNING|  )|^$" || true
# the PP-OCR text-line detector's model (ocr/lines.py) ships in rapidocr-onnxruntime's wheel; only the
# model file is used, so the package goes in without its own dependencies (it would pull the GUI
# build of OpenCV beside the headless one)
.venv/bin/python -m pip install -q --no-deps "rapidocr-onnxruntime>=1.3,<2" 2>&1 | grep -v -E "^(WARNING|  )|^$" || true
# the Vietnamese word list that puts back dropped tone marks (ocr/tones.py) ships in pyvi's wheel
# (MIT); only that file is read, so the package goes in without its dependencies (scikit-learn…)
.venv/bin/python -m pip install -q --no-deps "pyvi==0.1.1" 2>&1 | grep -v -E "^(WARNING|  )|^$" || true
.venv/bin/python -c "import sohoa, ocr, ingest, registry, signing" || { echo "install failed" >&2; exit 1; }
.venv/bin/python -c "from ocr import lines; raise SystemExit(0 if lines.available() else 1)" \
  || echo "warning: the PP-OCR text-line detector is not installed (rapidocr-onnxruntime); photos are read without it" >&2
.venv/bin/python -c "from ocr import tones; raise SystemExit(0 if tones.available() else 1)" \
  || echo "warning: the Vietnamese word list is not installed (pyvi); dropped tone marks stay as read" >&2
