"""Every ``sohoa`` command line of the walk-through runs as written (issue 8; since issue 21 the
walk-through is docs/getting-started.md and the scaled-mode block is in docs/operations.md).

The walk-through's ``sh`` blocks are run top to bottom as one bash script in a temporary home, with the
installed ``sohoa`` on PATH. Long-running commands (``run`` without ``--once``, ``serve``,
``watch``, ``worker``, ``dev portal``) must start and keep running for a few seconds; everything
else must exit 0. A block headed ``<!-- readme-test: scaled -->`` needs PostgreSQL and RabbitMQ
and runs in its own test.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"(<!-- readme-test: (\w+) -->\s*\n)?```(\w*)\n(.*?)```", re.S)

WRAPPER = r'''
set -euo pipefail
SOHOA_BIN="$(command -v sohoa)"
sohoa() {
  local sub="" skip=0 a
  for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$a" in --home) skip=1 ;; -*) ;; *) sub="$a"; break ;; esac
  done
  case " $* " in *" --once "*|*" --help "*|*" -h "*) sub="" ;; esac
  if [ "$sub" = run ] || [ "$sub" = serve ] || [ "$sub" = watch ] || [ "$sub" = worker ] || [ "$sub" = dev -a "${2:-}" = portal ]; then
    echo "+ (long-running, ${LONG_SECONDS}s) sohoa $*" >&2
    local rc=0
    timeout -s INT "$LONG_SECONDS" "$SOHOA_BIN" "$@" >>"$LONG_LOG" 2>&1 || rc=$?
    if [ $rc != 124 ] && [ $rc != 0 ] && [ $rc != 130 ]; then
      echo "long-running 'sohoa $*' exited early with $rc:" >&2; tail -20 "$LONG_LOG" >&2; return 1
    fi
  else
    echo "+ sohoa $*" >&2
    "$SOHOA_BIN" "$@"
  fi
}
'''


WALKTHROUGH = ROOT / "docs" / "getting-started.md"
OPERATIONS = ROOT / "docs" / "operations.md"


def readme_blocks(path: Path = WALKTHROUGH) -> list[tuple[str | None, str, str]]:
    """(marker, language, body) of every fenced block of a page, in order."""
    return [(m.group(2), m.group(3), m.group(4)) for m in FENCE.finditer(path.read_text("utf-8"))]


def sohoa_lines(body: str) -> list[str]:
    return [ln for ln in body.splitlines() if re.search(r"(^|[\s$(|;&=])sohoa\s", ln.split("#")[0] + " ")]


def test_every_block_with_a_sohoa_line_is_runnable_sh():
    blocks = readme_blocks()
    assert blocks, "the walk-through has no code blocks"
    offenders = [body[:80] for _m, lang, body in blocks if sohoa_lines(body) and lang != "sh"]
    assert offenders == []
    assert sum(len(sohoa_lines(b)) for _m, lang, b in blocks if lang == "sh") >= 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_script(body: str, tmp_path: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    script = tmp_path / "readme.sh"
    script.write_text(WRAPPER + "\n" + body, encoding="utf-8")
    bindir = Path(sys.executable).parent
    assert (bindir / "sohoa").exists(), "sohoa is not installed in this environment"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(PATH=f"{bindir}:{env['PATH']}", HOME=str(tmp_path), SOHOA_HOME=str(tmp_path / "home"),
               SOHOA_WEB_PORT=str(_free_port()), SOHOA_QUIET_SECONDS="1", SOHOA_WORKERS="2",
               LONG_SECONDS="6", LONG_LOG=str(tmp_path / "long.log"), **env_extra)
    return subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)


@pytest.mark.slow
def test_readme_command_lines_run_as_written(tmp_path):
    body = "\n".join(b for marker, lang, b in readme_blocks() if lang == "sh" and marker is None)
    # The page's fake portal listens on a fixed port; run it on a free one, so that nothing else
    # holding that port (another run of the suite, say) fails the walk-through.
    assert "18090" in body
    body = body.replace("18090", str(_free_port()))
    p = _run_script(body, tmp_path, {})
    assert p.returncode == 0, f"README script failed ({p.returncode}):\n{p.stderr[-4000:]}\n{p.stdout[-2000:]}"
    ran = [ln for ln in p.stderr.splitlines() if ln.startswith("+ ") and "sohoa" in ln]
    assert len(ran) >= 25, ran
    assert (tmp_path / "receipt.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
@pytest.mark.postgres
def test_readme_scaled_mode_block(tmp_path):
    if not shutil.which("psql"):
        pytest.fail("psql is needed to prepare the scaled-mode database")
    blocks = [b for marker, lang, b in readme_blocks(OPERATIONS) if marker == "scaled"]
    assert len(blocks) == 1
    url = re.search(r"SOHOA_DATABASE_URL=(\S+)", blocks[0]).group(1)
    dbname = url.rsplit("/", 1)[1]
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
                    f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"], check=True, capture_output=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
                    f"CREATE DATABASE {dbname}"], check=True, capture_output=True)
    p = _run_script(blocks[0], tmp_path, {"SOHOA_QUEUE": f"sohoa.readme.{os.getpid()}"})
    assert p.returncode == 0, f"scaled-mode block failed ({p.returncode}):\n{p.stderr[-4000:]}"
