"""Operations commands: backup (keygen, verify), restore, doctor."""
from __future__ import annotations

import sys

import click

from sohoa.cli.context import Ctx, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(backup)
    cli.add_command(restore)
    cli.add_command(doctor)


class _BackupGroup(click.Group):
    """``sohoa backup DEST`` and ``sohoa backup keygen|verify …``: a first word that is not a
    subcommand is the destination."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_BackupGroup, invoke_without_command=False, subcommand_metavar="DEST | keygen --out FILE | verify [SRC]",
             context_settings={"help_option_names": ["-h", "--help"]})
def backup() -> None:
    """Back the home up: `sohoa backup DEST` (online: the service may run), `sohoa backup keygen
    --out FILE`, `sohoa backup verify [SRC]`.

    \b
    The key: backup_key = "FILE" in sohoa.toml, or SOHOA_BACKUP_KEY. Keep it apart from DEST.
    Retention: backup_keep_daily (7) and backup_keep_monthly (12) sets are kept.
    """


@backup.command("run", hidden=True)
@click.argument("dest", type=click.Path(file_okay=False))
@pass_ctx
def backup_run(ctx: Ctx, dest: str) -> None:
    """Write a new backup set into DEST."""
    from sohoa.ops.backup import backup as run_backup

    res = run_backup(ctx.settings, dest)
    human = [f"đã sao lưu vào {res.path}: {res.documents} tệp trong kho ({res.new_files} tệp mới)"]
    human += [f"  THIẾU trong kho: {m}" for m in res.missing]
    human += [f"  đã xóa theo lịch giữ: {p}" for p in res.pruned]
    human += [f"  giữ riêng, không có trong bản sao lưu: {a['what']} ({a['path']}): {a['why']}" for a in res.kept_apart]
    ctx.emit(res.to_json(), "\n".join(human))
    if res.missing:
        sys.exit(1)


@backup.command("keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the new key (0600).")
@pass_ctx
def backup_keygen(ctx: Ctx, out: str) -> None:
    """Make the office's backup key (age format); never overwrites a file."""
    from sohoa.ops.backup import keygen

    pub = keygen(out)
    ctx.emit({"key": out, "public_key": pub},
             f"đã tạo khóa sao lưu {out} (khóa công khai {pub})\n"
             f'  đặt backup_key = "{out}" trong sohoa.toml; giữ một bản khóa ở nơi khác bản sao lưu')


@backup.command("verify")
@click.argument("src", required=False, type=click.Path(file_okay=False, exists=True))
@pass_ctx
def backup_verify(ctx: Ctx, src: str | None) -> None:
    """Re-hash and decrypt every file of every set in SRC (default: where the last backup went).
    Exit code 1 when anything differs."""
    from sohoa.ops.backup import last_good, verify
    from vocab.errors import NotFound

    if src is None:
        st = last_good(ctx.settings)
        if not st:
            raise NotFound("chưa có lần sao lưu nào từ thư mục dữ liệu này: chỉ rõ SRC")
        src = st["dest"]
    rep = verify(ctx.settings, src)
    human = [f"đã kiểm tra {len(rep.sets)} bản sao lưu, {rep.files} tệp trong {src}"]
    human += [f"  LỖI: {e}" for e in rep.errors]
    human.append("tốt" if rep.ok else f"HỎNG: {len(rep.errors)} lỗi")
    ctx.emit({"src": src, "sets": rep.sets, "files": rep.files, "errors": rep.errors, "ok": rep.ok}, "\n".join(human))
    if not rep.ok:
        sys.exit(1)


@click.command()
@click.argument("src", type=click.Path(file_okay=False, exists=True))
@pass_ctx
def restore(ctx: Ctx, src: str) -> None:
    """Restore the newest good backup set in SRC (or the set SRC) onto an empty home; then run
    `sohoa init` (migrates if the backup is older) and `sohoa check`."""
    from sohoa.ops.backup import restore as run_restore

    res = run_restore(ctx.settings, src)
    human = [f"đã khôi phục {res.set} vào {res.home}: {res.files} tệp trong kho"]
    human += [f"  đã đặt lại tệp ngoài thư mục dữ liệu: {p}" for p in res.external]
    human += [f"  cần đặt lại bằng tay: {a['what']} ({a['path']})" for a in res.kept_apart
              if a["what"] != "backup_key"]
    ctx.emit(res.to_json(), "\n".join(human))


@click.command()
@click.option("--offline", is_flag=True, help="Skip the checks that need the network (TSA, portal).")
@pass_ctx
def doctor(ctx: Ctx, offline: bool) -> None:
    """Check what a working office needs, one line each; exit code 1 when something blocks work."""
    from sohoa.ops.doctor import run_checks

    results = run_checks(ctx.settings, offline=offline)
    for r in results:
        ctx.emit(r.to_json(), r.line())
    if any(r.blocking for r in results):
        sys.exit(1)
