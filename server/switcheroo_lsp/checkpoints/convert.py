"""`switcheroo convert`: the KeyMapper's plan of a torch checkpoint executed entry by entry
and written as orbax or Flax-named safetensors, so the JAX program never needs torch."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from switcheroo_lsp import __version__
from switcheroo_lsp.checkpoints.errors import CheckpointError
from switcheroo_lsp.checkpoints.opening import converted_info, open_plan
from switcheroo_lsp.checkpoints.progress import Bar
from switcheroo_lsp.checkpoints.safetensors_writer import SafetensorsWriter, TensorSpec
from switcheroo_lsp.checkpoints.staging import Staging
from switcheroo_lsp.runtime.keymapper import KeyMapper

FORMAT_VERSION = 1
DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    layout: str = "linen"
    format: str = "orbax"
    dtype: str | None = None  # a key of DTYPES: floating leaves are cast to it
    num_heads: int | None = None
    max_shard_bytes: int = 5 * 10**9
    force: bool = False
    strict: bool = False
    target: str | None = None  # --target FILE.py:FUNCTION (see target.py)


@dataclass
class Result:
    out: Path
    leaves: int = 0
    nbytes: int = 0
    files: int = 0
    report: Any = None
    layout: str = "linen"  # the plan's: an NNX target makes it nnx
    stale: list[Path] = field(default_factory=list)


def flat_name(path: Sequence[Any]) -> str:
    """A Flax path as one name: its parts joined with "/" (the reader splits it again)."""
    return "/".join(map(str, path))


def output_dtype(dtype: Any, cast: str | None) -> np.dtype[Any]:
    """The dtype a leaf is written in: --dtype for floating leaves (bf16 and FP8 included),
    integers and booleans as they are."""
    import jax.numpy as jnp

    dtype = np.dtype(dtype)
    if cast is None or not jnp.issubdtype(dtype, jnp.floating):
        return dtype
    return np.dtype(jnp.dtype(DTYPES[cast]))


def entry_value(entry: Any, dtype: np.dtype[Any]) -> Any:
    """One plan entry's array in Flax layout and the output dtype, in memory of its own
    (not a view of a checkpoint file's memory map, which is let go after its group): a jax
    array, or numpy for 64-bit values jax would narrow. XLA copies transposed views (PJRT's
    strided copy: 5x numpy's for a bf16 MLP kernel) and casts, as KeyMapper.from_torch
    does; orbax saves jax arrays with half the extra memory numpy ones take."""
    import jax

    view = np.asarray(entry.leaf.view(entry.shape))
    steps = [np.dtype(entry.dtype), dtype]  # the plan's dtype (the target's), then --dtype
    if any(jax.dtypes.canonicalize_dtype(d) != d for d in (view.dtype, *steps)):
        for step in steps:
            view = view if view.dtype == step else view.astype(step)
        return np.array(view, order="C", copy=True)
    x = jax.device_put(np.array(view) if view.flags.c_contiguous else view)
    for step in steps:
        x = x if x.dtype == step else x.astype(step)
    return x


def by_file(entries: Sequence[Any]) -> list[tuple[tuple[Any, ...], list[int]]]:
    """The entries' indices grouped by the checkpoint files they read, as the KeyMapper
    executes a plan: a group at a time, each file's memory map let go after its group."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, entry in enumerate(entries):
        groups.setdefault(tuple(getattr(entry.leaf.array, "files", ())), []).append(index)
    return list(groups.items())


def conversion_info(plan: Any, options: Options, source: str) -> dict[str, Any]:
    """What the output records about itself, read back by KeyMapper.load_converted."""
    integer_keys = {
        flat_name(e.path): [i for i, part in enumerate(e.path) if isinstance(part, int)]
        for e in plan.entries
        if any(isinstance(part, int) for part in e.path)
    }
    return {
        "version": FORMAT_VERSION,
        "layout": plan.layout,
        "dtype": DTYPES.get(options.dtype or "", "as in the checkpoint"),
        "source": source,
        "switcheroo": __version__,
        "integer_keys": integer_keys,
    }


def convert(paths: Sequence[Path], out: Path, options: Options, bar_stream: Any) -> Result:
    """Convert the checkpoint at ``paths`` into ``out``, all or nothing."""
    if converted_info(paths) is not None:
        raise CheckpointError(
            f"{paths[0]}: already converted by `switcheroo convert`; read it with"
            " KeyMapper.load_converted, or look at it with `switcheroo inspect`"
        )
    target = None
    if options.target is not None:
        from switcheroo_lsp.checkpoints.target import load_target

        target = load_target(options.target)
    plan = open_plan(paths, options.layout, options.num_heads, target)
    if options.strict and plan.report:
        raise CheckpointError(
            f"the checkpoint does not convert cleanly (--strict):\n{plan.report!r}", code=1
        )
    if not plan.entries:
        raise CheckpointError(f"{paths[0]}: no tensors to convert")
    groups = by_file(plan.entries)
    entries = [plan.entries[i] for _, indices in groups for i in indices]  # written in this order
    dtypes = [output_dtype(e.dtype, options.dtype) for e in entries]
    specs = [
        TensorSpec(flat_name(e.path), tuple(e.shape), d)
        for e, d in zip(entries, dtypes, strict=True)
    ]
    result = Result(out, leaves=len(specs), nbytes=sum(s.nbytes for s in specs))
    result.report, result.layout = plan.report, plan.layout
    bar = Bar(len(specs), result.nbytes, bar_stream, enabled=bar_stream is not None)
    source = ", ".join(os.path.basename(os.fspath(p.absolute())) for p in paths)
    info = conversion_info(plan, options, source)
    with Staging(out, options.force) as staging:
        result.stale = staging.stale
        try:
            if options.format == "safetensors":
                result.files = _write_safetensors(staging.item, plan, specs, info, options, bar)
            else:
                _write_orbax(staging.item, plan, dtypes, info, bar)
                result.files = sum(1 for p in staging.item.rglob("*") if p.is_file())
        except OSError as exc:
            raise CheckpointError(_write_failure(out, exc)) from None
        finally:
            bar.close()
        staging.commit()
    return result


def _values(plan: Any, dtypes: list[np.dtype[Any]], bar: Bar) -> Iterator[tuple[Any, Any]]:
    """(entry, array) in the order of by_file's groups, closing each group's files after it."""
    done = 0
    for files, indices in by_file(plan.entries):
        for index in indices:
            entry = plan.entries[index]
            value = entry_value(entry, dtypes[done])
            done += 1
            yield entry, value
            bar.advance(value.nbytes)
        for shard in files:
            shard.close()


def _write_safetensors(
    folder: Path,
    plan: Any,
    specs: list[TensorSpec],
    info: dict[str, Any],
    options: Options,
    bar: Bar,
) -> int:
    folder.mkdir()
    shard_metadata = {
        "format": "flax",
        KeyMapper._CONVERTED: str(FORMAT_VERSION),
        "layout": plan.layout,
    }
    writer = SafetensorsWriter(
        folder, specs, options.max_shard_bytes, shard_metadata, {KeyMapper._CONVERTED: info}
    )
    try:
        for entry, value in _values(plan, [s.dtype for s in specs], bar):
            writer.add(flat_name(entry.path), np.asarray(value))
        writer.finish()
    finally:
        writer.abandon()
    return len(writer.shards) + 1


def _write_orbax(
    folder: Path, plan: Any, dtypes: list[np.dtype[Any]], info: dict[str, Any], bar: Bar
) -> None:
    """The tree saved in parts of about PART_BYTES, each made entry by entry."""
    from switcheroo_lsp.checkpoints.orbax_writer import PART_BYTES, OrbaxWriter

    writer = OrbaxWriter(folder, info)
    part: dict[str, Any] = {}
    held = 0
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.CRITICAL)  # orbax's threads log each failure: the error says it once
    try:
        for entry, value in _values(plan, dtypes, bar):
            KeyMapper._insert(part, entry.path, value, entry.key)
            held += value.nbytes
            if held >= PART_BYTES:
                writer.add(part)
                part, held = {}, 0
        if part:
            writer.add(part)
        bar.say("orbax is finishing")
        writer.finish()
    except (OSError, CheckpointError, KeyboardInterrupt):
        raise
    except Exception as exc:  # orbax and tensorstore wrap I/O failures in their own types
        text = str(exc)
        if "No space left on device" in text or "os_error_code='28'" in text:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from None
        raise OSError(errno.EIO, f"orbax: {text.splitlines()[0][:300]}") from None
    finally:
        absl.setLevel(level)


def _write_failure(out: Path, exc: OSError) -> str:
    reason = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return f"{out}: cannot write ({reason}); nothing was left at {out}"
