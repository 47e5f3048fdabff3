#!/usr/bin/env bash
# Installs sohoa as a service on a Debian machine: the system account, the home with its modes
# (0700 home, 0600 database), the systemd units (sohoa.service, sohoa-worker@.service,
# sohoa-serve@.service), log rotation, the settings files /etc/default/sohoa and
# /etc/default/sohoa-api and, with --samba, the scan-to-folder share and
# the scanners' account. Run it as root after `bash scripts/install.sh` (which makes .venv).
#
#   deploy/install.sh [--root DIR] [--home DIR] [--user NAME] [--bin PATH] [--samba]
#                     [--scanner NAME] [--no-init] [--no-start]
#
# --root DIR installs into DIR as if it were / (a package build, or a test): accounts are made
# there by systemd-sysusers --root, nothing is started. The scanners' password comes from
# SOHOA_SCAN_PASSWORD (never an argument); without it, set it later with smbpasswd -a.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
root=/ home=/var/lib/sohoa user=sohoa bin="$repo/.venv/bin/sohoa" samba=0 scanner=sohoa-scan init=1 start=1
die() { echo "deploy/install.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2:?}"; shift 2 ;;
    --home) home="${2:?}"; shift 2 ;;
    --user) user="${2:?}"; shift 2 ;;
    --bin) bin="${2:?}"; shift 2 ;;
    --samba) samba=1; shift ;;
    --scanner) scanner="${2:?}"; shift 2 ;;
    --no-init) init=0; shift ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
done
case "$home" in /*) ;; *) die "--home must be an absolute path: $home" ;; esac
case "$user$scanner" in *[!a-z0-9_-]*) die "account names: lower-case letters, digits, - and _ only" ;; esac
for v in "$home" "$bin"; do case "$v" in *[\|\&\\$'\n']*) die "invalid path: $v" ;; esac; done
[ -x "$bin" ] || die "no sohoa executable at $bin (run bash scripts/install.sh first, or give --bin)"
home="${home%/}"
R="${root%/}"                       # "" when installing into the running system
live=0; [ -z "$R" ] && live=1
[ "$(id -u)" = 0 ] || [ $live = 0 ] || die "run as root (it creates an account and installs units)"

render() {  # template destination mode
  install -d "$(dirname "$2")"
  sed -e "s|@BIN@|$bin|g" -e "s|@HOME@|$home|g" -e "s|@USER@|$user|g" -e "s|@SCANNER@|$scanner|g" \
      -e "s|@DOCS@|$repo/docs|g" "$1" > "$2.tmp"
  chmod "$3" "$2.tmp"
  mv -f "$2.tmp" "$2"
  echo "  $2"
}

echo "files:"
render "$here/systemd/sohoa.service" "$R/etc/systemd/system/sohoa.service" 0644
render "$here/systemd/sohoa-worker@.service" "$R/etc/systemd/system/sohoa-worker@.service" 0644
render "$here/systemd/sohoa-serve@.service" "$R/etc/systemd/system/sohoa-serve@.service" 0644
render "$here/logrotate.conf" "$R/etc/logrotate.d/sohoa" 0644
render "$here/sysusers.conf" "$R/etc/sysusers.d/sohoa.conf" 0644
sysusers=("$R/etc/sysusers.d/sohoa.conf")
if [ $samba = 1 ]; then
  render "$here/samba/sysusers-scan.conf" "$R/etc/sysusers.d/sohoa-scan.conf" 0644
  sysusers+=("$R/etc/sysusers.d/sohoa-scan.conf")
fi

# the accounts: the service's own, and the scanners' (SMB only, no shell)
if command -v systemd-sysusers >/dev/null; then
  if [ $live = 1 ]; then systemd-sysusers "${sysusers[@]}"; else systemd-sysusers --root="$root" "${sysusers[@]}"; fi
elif [ $live = 1 ]; then
  id "$user" >/dev/null 2>&1 || useradd --system --user-group --home-dir "$home" --no-create-home \
    --shell /usr/sbin/nologin --comment "sohoa service" "$user"
  if [ $samba = 1 ]; then
    id "$scanner" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir / \
      --shell /usr/sbin/nologin --comment "sohoa scanners (SMB)" "$scanner"
  fi
else
  die "--root needs systemd-sysusers (Debian package systemd)"
fi
uid="$(awk -F: -v u="$user" '$1 == u {print $3}' "$R/etc/passwd")"
gid="$(awk -F: -v u="$user" '$1 == u {print $4}' "$R/etc/passwd")"
[ -n "$uid" ] || die "the account $user was not created"
echo "accounts: $user ($uid:$gid)$([ $samba = 1 ] && echo ", $scanner")"

# settings and secrets: kept when present; root-owned, readable by the service's group only
if [ ! -e "$R/etc/default/sohoa" ]; then
  install -d "$R/etc/default"
  cat > "$R/etc/default/sohoa" <<EOF
# sohoa's settings for the service (see docs/operations.md, Configuration). Secrets go here,
# not on a command line: this file is root:$user, mode 0640.
SOHOA_HOME=$home
# SOHOA_DATABASE_URL=postgresql+psycopg://sohoa@127.0.0.1:5432/sohoa
# SOHOA_BROKER_URL=amqp://sohoa:...@127.0.0.1:5672//
# SOHOA_WEB_HOST=0.0.0.0
# SOHOA_PUBLIC_BASE_URL=https://sohoa.example.gov.vn
# SOHOA_PORTAL_URL=
# SOHOA_PORTAL_TOKEN=
# SOHOA_WORKER_CONCURRENCY=2
# the API apart from the pages (sohoa-serve@api, sohoa-serve@web): sohoa.service then only ingests
# SOHOA_RUN_OPTIONS=--no-web
EOF
  echo "  $R/etc/default/sohoa"
fi
if [ ! -e "$R/etc/default/sohoa-api" ]; then  # sohoa-serve@api's own port
  printf '%s\n' "# the port of the API's own server (sohoa-serve@api); the reverse proxy sends /api/ here" \
    "SOHOA_WEB_PORT=8081" > "$R/etc/default/sohoa-api"
  echo "  $R/etc/default/sohoa-api"
fi
chmod 0640 "$R/etc/default/sohoa"
[ "$(id -u)" = 0 ] && chown "0:$gid" "$R/etc/default/sohoa"

# the home: 0700, owned by the service account; the registry created in it, 0600
install -d -m 0700 "$R$home"
if [ $init = 1 ]; then
  if [ $live = 1 ]; then
    runuser -u "$user" -- test -x "$bin" || die "$user cannot run $bin: install the code where it can read it (e.g. /opt/sohoa)"
    runuser -u "$user" -- env SOHOA_HOME="$home" sh -c 'umask 077; set -a; [ -r /etc/default/sohoa ] && . /etc/default/sohoa; set +a; exec "$0" init' "$bin"
  else
    (umask 077; env -u SOHOA_DATABASE_URL SOHOA_HOME="$R$home" "$bin" init)
  fi
fi
chmod -R go-rwx "$R$home"
[ -e "$R$home/sohoa.db" ] && chmod 0600 "$R$home/sohoa.db"
[ "$(id -u)" = 0 ] && chown -R "$uid:$gid" "$R$home"
echo "home: $home (0700, $user)"

# scan to folder
if [ $samba = 1 ]; then
  install -d "$R/etc/samba"
  "$here/samba-share.sh" "$home" "$scanner" "$user" > "$R/etc/samba/sohoa-scan.conf"
  chmod 0644 "$R/etc/samba/sohoa-scan.conf"
  echo "share: $R/etc/samba/sohoa-scan.conf"
  if [ $live = 1 ]; then
    conf=/etc/samba/smb.conf
    if [ -f "$conf" ] && ! grep -q '^[[:space:]]*include[[:space:]]*=[[:space:]]*/etc/samba/sohoa-scan.conf' "$conf"; then
      sed -i '/^\[global\]/a\   include = /etc/samba/sohoa-scan.conf' "$conf"
      echo "  included from $conf"
    fi
    if [ -n "${SOHOA_SCAN_PASSWORD:-}" ]; then
      printf '%s\n%s\n' "$SOHOA_SCAN_PASSWORD" "$SOHOA_SCAN_PASSWORD" | smbpasswd -s -a "$scanner" >/dev/null
      echo "  SMB password set for $scanner"
    else
      echo "  set the scanners' password: smbpasswd -a $scanner"
    fi
    command -v systemctl >/dev/null && systemctl is-active --quiet smbd && systemctl reload smbd || true
  fi
fi

if [ $live = 1 ] && [ $start = 1 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now sohoa.service
  echo "started: systemctl status sohoa"
else
  echo "next: systemctl daemon-reload && systemctl enable --now sohoa.service"
fi
