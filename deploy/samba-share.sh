#!/usr/bin/env bash
# Prints the Samba share ("scan to folder") for a sohoa home: the office's scanners write into
# <home>/inbox with their own account, the files land owned by the service account.
# Usage: deploy/samba-share.sh HOME [SCANNER_ACCOUNT] [SERVICE_USER] [SHARE_NAME]
set -euo pipefail
home="${1:?usage: deploy/samba-share.sh HOME [SCANNER_ACCOUNT] [SERVICE_USER] [SHARE_NAME]}"
scanner="${2:-sohoa-scan}"
user="${3:-sohoa}"
share="${4:-scan}"
here="$(cd "$(dirname "$0")" && pwd)"
for v in "$home" "$scanner" "$user" "$share"; do
  case "$v" in *[\|\&\\$'\n']*) echo "deploy/samba-share.sh: invalid value: $v" >&2; exit 2 ;; esac
done
sed -e "s|@HOME@|${home%/}|g" -e "s|@SCANNER@|$scanner|g" -e "s|@USER@|$user|g" -e "s|@SHARE@|$share|g" \
  "$here/samba/sohoa-scan.conf"
