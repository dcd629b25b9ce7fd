"""``entrasnap key generate``: an Ed25519 key pair for signing snapshot records (docs/SECURITY.md)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from entrasnap.cli.errors import fail, handle_errors

app = typer.Typer(help="Keys: signing snapshot records, encrypting repositories.", no_args_is_help=True)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create a key file with ``mode`` from the start; never overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise fail(f"{path} exists; entrasnap does not overwrite keys (choose another --out)") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@app.command("generate")
def generate(
    out: Path = typer.Option(
        ..., "--out", help="The private key file to write (PEM, mode 0600; never overwritten)."
    ),
    public_out: Path | None = typer.Option(
        None, "--public-out", help="The public key file (default: beside --out, named NAME.pub.pem)."
    ),
) -> None:
    """Make an Ed25519 key pair: the private key signs snapshot records (snapshot --signing-key), the
    public key verifies them (check --public-key). Prints the public key (PEM) on stdout."""
    from entrasnap.store.signing import fingerprint, generate, load_public_key

    public_path = public_out or out.with_name(out.name.removesuffix(".pem") + ".pub.pem")
    with handle_errors():
        for path in (out, public_path):
            if path.exists():
                raise fail(f"{path} exists; entrasnap does not overwrite keys (choose another --out)")
        private, public = generate()
        _write_new(out, private, 0o600)
        _write_new(public_path, public, 0o644)
        key_id = fingerprint(load_public_key(public, str(public_path)))
    typer.echo(public.decode("ascii"), nl=False)
    typer.echo(f"private key: {out} (mode 0600; keep it secret, away from the repository)", err=True)
    typer.echo(f"public key: {public_path} (for `entrasnap check --public-key`)", err=True)
    typer.echo(f"fingerprint: {key_id}", err=True)
