"""The command-line shell of `switcheroo convert` and `switcheroo inspect`: their arguments,
and messages and exit codes (0 done; 1 --strict found problems; 2 bad input or a failed
write; 130 interrupted), as for the other commands."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, TextIO

from switcheroo_lsp.checkpoints.errors import CheckpointError

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def byte_size(value: str) -> int:
    """`5GB`, `500MiB`, `1000000`: a size in bytes."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    unit = UNITS.get(found.group(2).lower()) if found else None
    if found is None or unit is None or float(found.group(1)) * unit < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a size such as 2GB or 500MiB")
    return int(float(found.group(1)) * unit)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive integer")
    return int(value)


EXIT_CODES = (
    "Exit codes: 0 done, 1 --strict found something unexpected or ambiguous (nothing written),"
    " 2 bad input or a failed write (nothing left at --out), 130 interrupted."
)


def add_parsers(commands: Any) -> None:
    """The `convert` and `inspect` subcommands on the CLI's subparsers."""
    source = argparse.ArgumentParser(add_help=False)
    source.add_argument(
        "checkpoint",
        nargs="+",
        type=Path,
        metavar="CHECKPOINT",
        help="a .safetensors/.pt/.bin file, a *.index.json, a checkpoint folder, or shard files",
    )
    source.add_argument(
        "--layout",
        choices=["linen", "nnx"],
        default="linen",
        help='linen: {"params": ..., "batch_stats": ...} (default); nnx: the pure dict of'
        " nnx.replace_by_pure_dict, layer indices as integers",
    )
    source.add_argument(
        "--num-heads", type=_positive, metavar="N", help="split attention kernels into N heads"
    )
    source.add_argument(
        "--target",
        metavar="FILE.py:FUNCTION",
        help="the Flax model to convert for (its code is run): a function returning"
        " jax.eval_shape(model.init, ...) or an NNX model; names, shapes and dtypes come from it",
    )
    convert = commands.add_parser(
        "convert",
        parents=[source],
        epilog=EXIT_CODES,
        help="write a torch checkpoint as a Flax checkpoint (orbax or safetensors)",
        description="Convert a PyTorch checkpoint once, offline, so the JAX program never needs"
        " torch: an orbax checkpoint or Flax-named safetensors, read back by"
        " KeyMapper.from_torch / KeyMapper.load_converted. All or nothing: a failed run"
        " leaves nothing at --out.",
    )
    convert.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    convert.add_argument(
        "--format",
        choices=["orbax", "safetensors"],
        default="orbax",
        help="orbax: an orbax-checkpoint folder (default); safetensors: shards named by Flax"
        " path (params/model/layers_0/...) with a model.safetensors.index.json",
    )
    convert.add_argument(
        "--dtype", choices=["bf16", "fp16", "fp32"], help="cast floating leaves (only) to it"
    )
    convert.add_argument(
        "--max-shard-size",
        type=byte_size,
        default=5 * 10**9,
        metavar="SIZE",
        help="safetensors: start a new shard past this size (default: 5GB)",
    )
    convert.add_argument(
        "--force", action="store_true", help="replace --out if it is an earlier conversion"
    )
    convert.add_argument(
        "--strict",
        action="store_true",
        help="refuse (exit 1) when anything is unexpected or ambiguous",
    )
    convert.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    inspect = commands.add_parser(
        "inspect",
        parents=[source],
        epilog=EXIT_CODES,
        help="print the Flax tree a checkpoint becomes, from its metadata",
        description="Print the Flax tree a checkpoint becomes (paths, shapes, dtypes, counts per"
        " top-level module, what is ambiguous) without reading its tensors; or the tree a"
        " converted checkpoint holds.",
    )
    inspect.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text: a table (default); json: one document (schema 1, see the README)",
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Dispatch `convert` or `inspect`; the exit code."""
    try:
        if args.command == "inspect":
            return _inspect(args, out)
        return _convert(args, err)
    except CheckpointError as exc:
        err.write(f"switcheroo: error: {exc.message}\n")
        return exc.code
    except KeyboardInterrupt:
        where = f"; nothing was left at {args.out}" if args.command == "convert" else ""
        err.write(f"\nswitcheroo: interrupted{where}\n")
        return 130


def _inspect(args: argparse.Namespace, out: TextIO) -> int:
    from switcheroo_lsp.checkpoints import summary
    from switcheroo_lsp.checkpoints.opening import converted_info, open_plan

    info = converted_info(args.checkpoint)
    if info is not None:
        doc = summary.of_converted(args.checkpoint[0], info)
    else:
        target = None
        if args.target is not None:
            from switcheroo_lsp.checkpoints.target import load_target

            target = load_target(args.target)
        plan = open_plan(args.checkpoint, args.layout, args.num_heads, target)
        doc = summary.of_plan(plan, ", ".join(map(str, args.checkpoint)))
    if args.format == "json":
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        out.write(summary.text(doc))
    return 0


def _convert(args: argparse.Namespace, err: TextIO) -> int:
    from switcheroo_lsp.checkpoints.convert import Options, convert
    from switcheroo_lsp.checkpoints.progress import size_text

    options = Options(
        layout=args.layout,
        format=args.format,
        dtype=args.dtype,
        num_heads=args.num_heads,
        max_shard_bytes=args.max_shard_size,
        force=args.force,
        strict=args.strict,
        target=args.target,
    )
    bar = err if not args.quiet and err.isatty() else None
    result = convert(args.checkpoint, args.out, options, bar)
    for folder in result.stale:
        err.write(f"switcheroo: removed {folder}, left by an unfinished run\n")
    if result.report:
        err.write(f"switcheroo: warning: converted, but:\n{result.report!r}\n")
    err.write(
        f"Wrote {result.leaves} Flax leaves ({size_text(result.nbytes)}, {result.layout}) to"
        f" {args.out} as {args.format} ({result.files} files).\n"
    )
    return 0
