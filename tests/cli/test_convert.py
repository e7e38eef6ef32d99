"""`switcheroo convert`: a torch checkpoint (every parameter re-randomised) written as orbax or
Flax-named safetensors, read back by orbax itself and by the KeyMapper, equal bit for bit to
KeyMapper.from_torch of the original, and the Flax model run on it equal to torch; all or
nothing at --out whatever goes wrong."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint.experimental.v1 as ocp
import pytest
import torch
from cli_runner import run
from llama_pair import (
    IDS,
    LinenLlama,
    save_sharded,
    target,
    target_bf16,
    torch_llama,
    write_target_file,
)
from safetensors import safe_open
from torch_oracle import assert_close, load_nnx, randomize

from switcheroo_lsp.checkpoints import orbax_writer, safetensors_writer
from switcheroo_lsp.runtime import KeyMapper

pytestmark = pytest.mark.slow  # real conversions, orbax writes, an 8-device restore

SERVER = Path(__file__).parents[2] / "server"


def _flat(tree: dict) -> dict[str, np.ndarray]:
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
    }


def _assert_bitwise_equal(got: dict, expected: dict) -> None:
    got, expected = _flat(got), _flat(expected)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name].dtype == value.dtype, name
        assert got[name].shape == value.shape, name
        assert got[name].tobytes() == value.tobytes(), name


def _torch_logits(model: torch.nn.Module) -> torch.Tensor:
    return model.float()(torch.tensor(IDS, dtype=torch.long))


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path, str]:
    """The torch model, its sharded safetensors checkpoint (3 shards and an index) and a
    --target naming its linen port."""
    folder = tmp_path_factory.mktemp("llama")
    model = torch_llama()
    index = save_sharded(model.state_dict(), folder / "checkpoint")
    return model, index, write_target_file(folder)


def test_orbax_output_restores_with_orbax_bit_for_bit_and_runs_like_torch(llama, tmp_path):
    model, index, spec = llama
    out = tmp_path / "flax"
    code, _, err = run("convert", str(index), "--out", str(out), "--target", spec, "--strict")
    assert code == 0, err
    assert "Wrote 21 Flax leaves" in err and "as orbax" in err
    abstract = target()
    restored = ocp.load(out.absolute(), abstract)  # orbax's own restore
    expected = KeyMapper.from_torch(str(index), target=abstract, strict=True)
    _assert_bitwise_equal(restored, expected)
    with jax.default_matmul_precision("highest"):
        assert_close(LinenLlama().apply(restored, IDS), _torch_logits(model))
    _assert_bitwise_equal(KeyMapper.from_torch(out, target=abstract), expected)
    _assert_bitwise_equal(KeyMapper.load_converted(out), expected)  # no target: same tree


def test_safetensors_output_is_flax_named_sharded_and_reads_back_bit_for_bit(llama, tmp_path):
    model, index, spec = llama
    out = tmp_path / "flax"
    code, _, err = run(
        "convert", str(index), "--out", str(out), "--target", spec,
        "--format", "safetensors", "--max-shard-size", "20kB",
    )  # fmt: skip
    assert code == 0, err
    shards = sorted(out.glob("*.safetensors"))
    assert len(shards) > 2  # 20 kB shards of a 78 kB model
    weight_map = json.loads((out / "model.safetensors.index.json").read_text())["weight_map"]
    abstract = target()
    expected = _flat(KeyMapper.from_torch(str(index), target=abstract, strict=True))
    assert set(weight_map) == set(expected)
    assert "params/model/layers_1/self_attn/k_proj/kernel" in weight_map
    for shard in shards:  # safetensors' own reader agrees, name by name
        with safe_open(str(shard), framework="pt") as file:
            assert file.metadata()["format"] == "flax"
            assert file.metadata()["layout"] == "linen"
            for name in file.keys():  # noqa: SIM118 (safe_open has no __iter__)
                assert weight_map[name] == shard.name
                np.testing.assert_array_equal(file.get_tensor(name).numpy(), expected[name])
    restored = KeyMapper.from_torch(out, target=abstract)
    _assert_bitwise_equal(restored, KeyMapper.from_torch(str(index), target=abstract))
    with pytest.raises(ValueError, match=f"is one of {len(shards)} shards of a converted"):
        KeyMapper.from_torch(shards[0])
    with jax.default_matmul_precision("highest"):
        assert_close(LinenLlama().apply(restored, IDS), _torch_logits(model))


@pytest.mark.parametrize("fmt", ["orbax", "safetensors"])
def test_a_bf16_checkpoint_stays_bf16_bit_for_bit(fmt, tmp_path):
    model = torch_llama(torch.bfloat16)
    index = save_sharded(model.state_dict(), tmp_path / "checkpoint", shards=2)
    out = tmp_path / "flax"
    code, _, err = run(
        "convert", str(index), "--out", str(out), "--format", fmt,
        "--target", write_target_file(tmp_path, "target_bf16"),
    )  # fmt: skip
    assert code == 0, err
    abstract = target_bf16()
    restored = KeyMapper.load_converted(out)
    assert {x.dtype.name for x in _flat(restored).values()} == {"bfloat16"}
    _assert_bitwise_equal(restored, KeyMapper.from_torch(str(index), target=abstract))


def test_dtype_casts_floating_leaves_only(tmp_path):
    state = {
        "head.weight": torch.randn(3, 4),
        "head.bias": torch.randn(3),
        "head.ids": torch.arange(4, dtype=torch.int32),
    }
    source = tmp_path / "m.pt"
    torch.save(state, source)
    out = tmp_path / "flax"
    code, _, err = run(
        "convert", str(source), "--out", str(out), "--format", "safetensors", "--dtype", "fp16"
    )
    assert code == 0, err
    got = _flat(KeyMapper.load_converted(out))
    expected = _flat(KeyMapper.from_torch(state))
    assert got["params/head/kernel"].dtype == np.float16
    assert (
        got["params/head/kernel"].tobytes()
        == expected["params/head/kernel"].astype(np.float16).tobytes()
    )
    assert got["params/head/ids"].dtype == np.int32
    np.testing.assert_array_equal(got["params/head/ids"], np.arange(4))


def _sequential() -> torch.nn.Module:
    return randomize(
        torch.nn.Sequential(
            torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3)
        )
    )


@pytest.mark.parametrize("fmt", ["orbax", "safetensors"])
def test_nnx_integer_keys_come_back_as_integers(fmt, tmp_path):
    from flax import nnx

    model = _sequential()
    source = tmp_path / "m.pt"
    torch.save(model.state_dict(), source)
    out = tmp_path / "flax"
    code, _, err = run(
        "convert", str(source), "--out", str(out), "--layout", "nnx", "--format", fmt
    )
    assert code == 0, err
    pure = KeyMapper.load_converted(out)
    assert sorted(pure["layers"]) == [0, 2, 3]  # integers, as nnx.Sequential keys them
    if fmt == "safetensors":  # one file: the file itself will do
        (single,) = out.glob("*.safetensors")
        _assert_bitwise_equal(KeyMapper.from_torch(single), pure)
    _assert_bitwise_equal(pure, KeyMapper.from_torch(model.state_dict(), layout="nnx"))
    if fmt == "orbax":  # the trap load_converted takes care of: orbax alone gives strings
        assert sorted(ocp.load(out.absolute())["layers"]) == ["0", "2", "3"]
    rngs = nnx.Rngs(0)
    flax_model = nnx.Sequential(
        nnx.Linear(6, 8, rngs=rngs), nnx.relu, nnx.LayerNorm(8, epsilon=1e-5, rngs=rngs),
        nnx.Linear(8, 3, rngs=rngs),
    )  # fmt: skip
    x = torch.randn(2, 6)
    assert_close(load_nnx(flax_model, pure)(x.numpy()), model(x))


def test_strict_refuses_an_ambiguous_conversion_and_writes_nothing(llama, tmp_path):
    _, index, _ = llama
    out = tmp_path / "flax"
    code, _, err = run("convert", str(index), "--out", str(out), "--strict")
    assert code == 1
    assert "Linear or Embedding?" in err and "--strict" in err
    assert not out.exists() and os.listdir(tmp_path) == []


def test_without_strict_problems_are_warned_and_the_output_written(llama, tmp_path):
    _, index, _ = llama
    code, _, err = run("convert", str(index), "--out", str(tmp_path / "flax"), "-q")
    assert code == 0
    assert "warning: converted, but:" in err and "ambiguous" in err


def _leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("fmt", ["orbax", "safetensors"])
def test_a_full_disk_leaves_nothing_behind(fmt, llama, tmp_path, monkeypatch):
    _, index, spec = llama

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    calls = []
    real_add = safetensors_writer.SafetensorsWriter.add

    def add_then_fail(self, name, array):
        calls.append(name)
        if len(calls) == 5:
            no_space()
        real_add(self, name, array)

    monkeypatch.setattr(safetensors_writer.SafetensorsWriter, "add", add_then_fail)
    monkeypatch.setattr(orbax_writer.OrbaxWriter, "add", no_space)
    out = tmp_path / "flax"
    code, _, err = run("convert", str(index), "--out", str(out), "--target", spec, "--format", fmt)
    assert code == 2
    assert "no space left on device" in err and f"nothing was left at {out}" in err
    assert _leftovers(tmp_path) == []


def test_ctrl_c_leaves_nothing_behind(llama, tmp_path, monkeypatch):
    _, index, spec = llama

    def interrupt(self, name, array):
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors_writer.SafetensorsWriter, "add", interrupt)
    out = tmp_path / "flax"
    code, _, err = run(
        "convert", str(index), "--out", str(out), "--target", spec, "--format", "safetensors"
    )
    assert code == 130
    assert "interrupted; nothing was left at" in err
    assert _leftovers(tmp_path) == []


KILLED_RUN = """
import os, signal, sys
from switcheroo_lsp.checkpoints import orbax_writer, safetensors_writer
from switcheroo_lsp import cli

def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

real_add = safetensors_writer.SafetensorsWriter.add
def add_then_die(self, name, array):
    if self._next == 3:
        killed()
    real_add(self, name, array)

safetensors_writer.SafetensorsWriter.add = add_then_die
real_finish = orbax_writer.OrbaxWriter.finish
def finish_then_die(self):
    real_finish(self)  # orbax's checkpoint is complete: killed before it is moved to --out
    killed()
orbax_writer.OrbaxWriter.finish = finish_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("fmt", ["orbax", "safetensors"])
def test_a_killed_run_leaves_no_complete_looking_output_and_the_next_run_cleans_up(
    fmt, llama, tmp_path
):
    _, index, spec = llama
    out = tmp_path / "flax"
    argv = ["convert", str(index), "--out", str(out), "--target", spec, "--format", fmt]
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, *argv], env=env, capture_output=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL
    assert not out.exists()
    (partial,) = tmp_path.glob(".flax.switcheroo-partial-*")  # hidden, and says what it is
    assert (partial / "SWITCHEROO-PARTIAL").is_file()
    assert KeyMapper._converted_info(str(partial / "flax")) is None or fmt == "orbax"
    code, _, err = run(*argv)
    assert code == 0, err
    assert f"removed {partial}, left by an unfinished run" in err
    assert _leftovers(tmp_path) == ["flax", "llama_target.py"] or _leftovers(tmp_path) == ["flax"]
    assert KeyMapper._converted_info(str(out))["format"] == fmt


def test_an_existing_out_is_kept_unless_force_and_only_a_conversion_is_replaced(llama, tmp_path):
    _, index, spec = llama
    out = tmp_path / "flax"
    args = ["convert", str(index), "--out", str(out), "--target", spec, "--format", "safetensors"]
    assert run(*args)[0] == 0
    before = (out / "model.safetensors.index.json").read_bytes()
    code, _, err = run(*args)
    assert code == 2 and "already exists (--force replaces an earlier conversion)" in err
    assert (out / "model.safetensors.index.json").read_bytes() == before
    code, _, err = run(*args[:-1], "orbax", "--force")
    assert code == 0, err
    assert KeyMapper._converted_info(str(out))["format"] == "orbax"
    assert _leftovers(tmp_path) == ["flax"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run("convert", str(index), "--out", str(mine), "--target", spec, "--force")
    assert code == 2 and "is not the output of `switcheroo convert`; not replacing it" in err
    assert (mine / "notes.txt").read_text() == "keep me" and _leftovers(mine) == ["notes.txt"]


def test_bad_input_gets_a_clear_message(tmp_path):
    code, _, err = run("convert", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path / "o"))
    assert code == 2 and "nope.safetensors: no such file or directory" in err
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, not a checkpoint")
    code, _, err = run("convert", str(text), "--out", str(tmp_path / "o"))
    assert code == 2 and "not a readable safetensors checkpoint" in err
    pickle = tmp_path / "notes.pt"
    pickle.write_text("hello")
    code, _, err = run("convert", str(pickle), "--out", str(tmp_path / "o"))
    assert code == 2 and "not a readable PyTorch checkpoint" in err
    code, _, err = run("convert", str(pickle), "--out", str(tmp_path / "o"), "--target", "x")
    assert code == 2 and "expected FILE.py:FUNCTION" in err
    assert code == 2 and not (tmp_path / "o").exists()
    assert run("convert", str(pickle), "--out", "o", "--max-shard-size", "lots")[0] == 2
    converted = tmp_path / "converted"
    torch.save({"head.weight": torch.ones(2, 3), "head.bias": torch.ones(2)}, tmp_path / "m.pt")
    assert run("convert", str(tmp_path / "m.pt"), "--out", str(converted))[0] == 0
    code, _, err = run("convert", str(converted), "--out", str(tmp_path / "twice"))
    assert code == 2 and "already converted by `switcheroo convert`" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_only(llama, tmp_path):
    from switcheroo_lsp import cli

    _, index, spec = llama
    args = ["convert", str(index), "--target", spec, "--format", "safetensors", "--out"]
    terminal = _Terminal()
    assert cli.main([*args, str(tmp_path / "a")], io.StringIO(), terminal) == 0
    shown = terminal.getvalue()
    assert "\r[" in shown and "21/21 tensors" in shown and "78.5 kB/78.5 kB" in shown
    plain = io.StringIO()
    assert cli.main([*args, str(tmp_path / "b")], io.StringIO(), plain) == 0
    assert "\r" not in plain.getvalue() and "tensors," not in plain.getvalue()


SHARDED_RESTORE = """
import sys
import jax, numpy as np
import orbax.checkpoint.experimental.v1 as ocp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
sys.path[:0] = [{tests!r}]
from llama_pair import target
from switcheroo_lsp.runtime import KeyMapper

assert len(jax.devices()) == 8
mesh = Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "model"))
def sharding(x):
    spec = P(None, "model") if x.ndim == 2 and x.shape[1] % 4 == 0 else P()
    return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=NamedSharding(mesh, spec))
abstract = jax.tree.map(sharding, target())
expected = KeyMapper.from_torch({index!r}, target=target(), strict=True)
for out in ({orbax!r}, {safetensors!r}):
    if out.endswith("orbax"):
        restored = ocp.load(out, abstract)
    else:
        restored = KeyMapper.from_torch(out, target=abstract)
    got = jax.tree_util.tree_leaves_with_path(restored)
    want = dict(jax.tree_util.tree_leaves_with_path(abstract))
    same = dict(jax.tree_util.tree_leaves_with_path(expected))
    spread = 0
    for path, leaf in got:
        assert leaf.sharding == want[path].sharding, (out, path)
        spread += len(leaf.sharding.device_set) == 8 and not leaf.sharding.is_fully_replicated
        assert np.asarray(leaf).tobytes() == np.asarray(same[path]).tobytes(), (out, path)
    assert len(got) == 21 and spread == 16, spread
    print(out, "ok", spread)
"""


def test_an_eight_device_sharded_restore_puts_every_leaf_on_its_sharding(llama, tmp_path):
    _, index, spec = llama
    outs = {}
    for fmt in ("orbax", "safetensors"):
        outs[fmt] = tmp_path / fmt
        code, _, err = run(
            "convert", str(index), "--out", str(outs[fmt]), "--target", spec, "--format", fmt
        )
        assert code == 0, err
    script = SHARDED_RESTORE.format(
        tests=str(Path(__file__).parent),
        index=str(index),
        orbax=str(outs["orbax"].absolute()),
        safetensors=str(outs["safetensors"].absolute()),
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(SERVER),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count(" ok ") == 2


NNX_TARGET = """
from flax import nnx

def model():
    rngs = nnx.Rngs(0)
    return nnx.Sequential(
        nnx.Linear(6, 8, rngs=rngs), nnx.relu, nnx.LayerNorm(8, rngs=rngs), nnx.Linear(8, 3, rngs=rngs)
    )
"""


def test_an_nnx_model_as_target_gives_the_nnx_tree(tmp_path):
    model = _sequential()
    source = tmp_path / "m.pt"
    torch.save(model.state_dict(), source)
    (tmp_path / "port.py").write_text(NNX_TARGET)
    out = tmp_path / "flax"
    spec = f"{tmp_path / 'port.py'}:model"
    code, _, err = run("convert", str(source), "--out", str(out), "--target", spec, "--strict")
    assert code == 0, err
    assert "Wrote 6 Flax leaves (396 B, nnx)" in err  # the layout comes from the NNX target
    pure = KeyMapper.load_converted(out)
    assert sorted(pure["layers"]) == [0, 2, 3]
    _assert_bitwise_equal(pure, KeyMapper.from_torch(model.state_dict(), layout="nnx"))


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 256 kB tmpfs: a real full disk (needs root and mount; skipped elsewhere)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        (folder / "filler").write_bytes(b"\0" * 200_000)  # leaves less than the 78 kB output
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("fmt", ["orbax", "safetensors"])
def test_a_really_full_disk_says_so_and_leaves_nothing(fmt, llama, tiny_disk):
    _, index, spec = llama
    out = tiny_disk / "flax"
    code, _, err = run("convert", str(index), "--out", str(out), "--target", spec, "--format", fmt)
    assert code == 2
    assert err == (
        f"switcheroo: error: {out}: cannot write (no space left on device);"
        f" nothing was left at {out}\n"
    )  # one line: orbax's threads' own logging is kept quiet
    assert _leftovers(tiny_disk) == ["filler"]
