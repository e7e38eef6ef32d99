"""Checkpoints in several files (an index and its shards, a folder, a list of shards; safetensors
or torch), planned from the headers alone and executed one file at a time."""

import json
import os
from pathlib import Path

import jax
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch_oracle import assert_same_tree, randomize

from switcheroo_lsp.runtime import KeyMapper


def cross_shard_model() -> torch.nn.Module:
    """Layers whose tensors a round-robin split puts in different files: attention's in_proj
    and out_proj, an LSTM's ih and hh weights and the two biases summed, a norm's weight and
    running statistics, weight norm's g and v."""
    return randomize(
        torch.nn.ModuleDict(
            {
                "attn": torch.nn.MultiheadAttention(8, 2),
                "rnn": torch.nn.LSTM(4, 3, num_layers=2),
                "norm": torch.nn.BatchNorm1d(5),
                "fc": torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(6, 5)),
                "head": torch.nn.Linear(5, 2).to(torch.bfloat16),
            }
        )
    )


def split(state: dict, count: int) -> list[dict]:
    """Key i goes to shard i % count: neighbours (one layer's tensors) land apart."""
    shards: list[dict] = [{} for _ in range(count)]
    for i, (key, value) in enumerate(state.items()):
        shards[i % count][key] = value.contiguous()
    return shards


def write_sharded(folder: Path, state: dict, count: int = 3, kind: str = "safetensors") -> Path:
    """A checkpoint as transformers saves one: shards and an index naming each key's shard."""
    folder.mkdir(exist_ok=True)
    weight_map = {}
    for i, shard in enumerate(split(state, count)):
        if kind == "safetensors":
            name = f"model-{i + 1:05d}-of-{count:05d}.safetensors"
            save_file(shard, folder / name)
        else:
            name = f"pytorch_model-{i + 1:05d}-of-{count:05d}.bin"
            torch.save(shard, folder / name)
        weight_map |= dict.fromkeys(shard, name)
    index = folder / ("model.safetensors.index.json" if kind == "safetensors" else
                      "pytorch_model.bin.index.json")  # fmt: skip
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return index


# ---------------------------------------------------------------- the sources
@pytest.mark.parametrize("layout", ["linen", "nnx"])
@pytest.mark.parametrize(
    "source", ["index", "folder", "list", "reversed list", "bin index", "bin folder"]
)
def test_a_sharded_checkpoint_gives_the_tree_of_its_state_dict(
    tmp_path: Path, source: str, layout: str
) -> None:
    state = cross_shard_model().state_dict()
    index = write_sharded(
        tmp_path / "ckpt", state, kind="bin" if "bin" in source else "safetensors"
    )
    given = {
        "index": index,
        "folder": index.parent,
        "list": sorted(index.parent.glob("*.safetensors")),
        "reversed list": sorted(index.parent.glob("*.safetensors"))[::-1],  # out_proj first
        "bin index": index,
        "bin folder": index.parent,
    }[source]
    expected = KeyMapper.from_torch(state, layout=layout, num_heads=2)
    assert_same_tree(KeyMapper.from_torch(given, layout=layout, num_heads=2), expected)


def test_a_folder_with_one_model_safetensors_file_is_that_file(tmp_path: Path) -> None:
    state = cross_shard_model().state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "model.safetensors")
    assert_same_tree(
        KeyMapper.from_torch(tmp_path, num_heads=2), KeyMapper.from_torch(state, num_heads=2)
    )


def test_headers_give_every_keys_shape_dtype_and_file(tmp_path: Path) -> None:
    state = cross_shard_model().state_dict()
    index = write_sharded(tmp_path / "ckpt", state)
    headers = KeyMapper._headers(index)
    weight_map = json.loads(index.read_text())["weight_map"]
    assert headers == {
        key: (
            tuple(t.shape),
            str(t.dtype).removeprefix("torch."),
            os.path.join(index.parent, weight_map[key]),
        )
        for key, t in state.items()
    }


# ---------------------------------------------------------------- clear errors
def test_an_index_naming_a_missing_shard_names_it(tmp_path: Path) -> None:
    index = write_sharded(tmp_path / "ckpt", cross_shard_model().state_dict())
    (index.parent / "model-00002-of-00003.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model-00002-of-00003.safetensors"):
        KeyMapper.plan(index)


def test_a_key_in_two_shards_is_an_error_naming_both(tmp_path: Path) -> None:
    first, second = split(cross_shard_model().state_dict(), 2)
    second["norm.weight"] = torch.zeros(5)
    save_file(first, tmp_path / "a.safetensors")
    save_file(second, tmp_path / "b.safetensors")
    with pytest.raises(ValueError, match="'norm.weight' is in two shards: .*a.safetensors and .*b"):
        KeyMapper.plan([tmp_path / "a.safetensors", tmp_path / "b.safetensors"])


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_a_key_the_index_lists_but_its_shard_lacks_is_an_error(tmp_path: Path, kind: str) -> None:
    index = write_sharded(tmp_path / "ckpt", cross_shard_model().state_dict(), kind=kind)
    listing = json.loads(index.read_text())
    listing["weight_map"]["extra.weight"] = next(iter(listing["weight_map"].values()))
    index.write_text(json.dumps(listing))
    with pytest.raises(ValueError, match="lacks 1 tensors its index lists: 'extra.weight'"):
        KeyMapper.plan(index)


def test_a_folder_of_several_checkpoints_without_an_index_is_an_error(tmp_path: Path) -> None:
    for name, shard in zip("ab", split(cross_shard_model().state_dict(), 2), strict=True):
        save_file(shard, tmp_path / f"{name}.safetensors")
    with pytest.raises(ValueError, match="several checkpoints and no index"):
        KeyMapper.plan(tmp_path)


def test_an_index_without_a_weight_map_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text('{"metadata": {}}')
    with pytest.raises(ValueError, match="not a checkpoint index"):
        KeyMapper.plan(tmp_path)


# ---------------------------------------------------------------- plan before load
@pytest.mark.parametrize("layout", ["linen", "nnx"])
def test_planning_reads_no_tensor_data(tmp_path: Path, monkeypatch, layout: str) -> None:
    """Every byte of a file's tensors is read through its shard's memory map: planning
    (derived arrays included: bias sums, weight norm, the fused LSTM bias) never opens it.
    (Into nnx.GRUCell, which has no hidden n-gate bias, that bias is read to say whether
    dropping it loses anything: a GRU is in the linen case only.)"""
    model = cross_shard_model()
    if layout == "linen":
        model["gru"] = randomize(torch.nn.GRU(3, 2))
    index = write_sharded(tmp_path / "ckpt", model.state_dict())
    target = jax.eval_shape(lambda: KeyMapper.from_torch(model.state_dict(), layout=layout,
                                                         num_heads=2))  # fmt: skip

    def no_reading(self):
        raise AssertionError(f"{self.path} was read during planning")

    monkeypatch.setattr(KeyMapper._Shard, "arrays", no_reading)
    assert len(KeyMapper._headers(index)) == len(model.state_dict())
    for given in (None, target):
        plan = KeyMapper.plan(index, target=given, layout=layout, num_heads=2)
        assert not plan.report and plan.entries
        repr(plan)


GiB = 1 << 30


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def test_planning_a_file_whose_tensors_are_a_10_gib_hole_reads_none_of_it(tmp_path: Path) -> None:
    """A sparse file: 10 GiB of tensor bytes that are not on disk. Reading them would take
    seconds and 10 GiB of memory; planning (strict, against a target) takes neither."""
    rows, cols = 1 << 16, 40 << 10  # a (65536, 40960) fp32 weight: 10 GiB
    weight_bytes = rows * cols * 4
    header = {
        "fc.weight": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, weight_bytes]},
        "fc.bias": {"dtype": "F32", "shape": [rows],
                    "data_offsets": [weight_bytes, weight_bytes + rows * 4]},
    }  # fmt: skip
    text = json.dumps(header).encode()
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as file:
        file.write(len(text).to_bytes(8, "little") + text)
        file.truncate(8 + len(text) + weight_bytes + rows * 4)
    assert os.stat(path).st_blocks * 512 < 1 << 20  # a hole: nothing on disk
    target = {
        "params": {
            "fc": {
                "kernel": jax.ShapeDtypeStruct((cols, rows), np.float32),
                "bias": jax.ShapeDtypeStruct((rows,), np.float32),
            }
        }
    }
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from here
    before = _status_bytes("VmRSS")
    plan = KeyMapper.plan(path, target=target)
    grown = _status_bytes("VmHWM") - before
    assert not plan.report and len(plan.entries) == 2
    assert grown < 64 << 20, f"planning grew memory by {grown / GiB:.2f} GiB"


# ---------------------------------------------------------------- executed by shard
@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_execution_holds_one_shard_open_at_a_time_except_for_a_layer_across_two(
    tmp_path: Path, monkeypatch, kind: str
) -> None:
    """Entries run grouped by the files they read; each group's files are let go before the
    next group opens its own. Only a leaf made from two files (a bias sum, weight norm) has
    two open, and never more."""
    state = cross_shard_model().state_dict()
    index = write_sharded(tmp_path / "ckpt", state, count=3, kind=kind)
    plan = KeyMapper.plan(index, num_heads=2)
    open_now: set = set()
    most: list = []
    arrays, close = KeyMapper._Shard.arrays, KeyMapper._Shard.close

    def tracked_arrays(self):
        open_now.add(self.path)
        most.append(len(open_now))
        return arrays(self)

    def tracked_close(self):
        open_now.discard(self.path)
        close(self)

    monkeypatch.setattr(KeyMapper._Shard, "arrays", tracked_arrays)
    monkeypatch.setattr(KeyMapper._Shard, "close", tracked_close)
    tree = plan.execute()
    assert max(most) == 2 and not open_now
    assert_same_tree(tree, KeyMapper.from_torch(state, num_heads=2))


def test_the_result_is_a_copy_not_a_view_of_the_file(tmp_path: Path) -> None:
    """JAX on CPU adopts a read-only, 64-byte aligned numpy array without copying: a tensor
    memory-mapped from the file must not become such an array, or rewriting the file later
    would change the converted weights (and its memory map would never be let go)."""
    values = np.arange(4096, dtype=np.float32)
    header = {"norm.weight": {"dtype": "F32", "shape": [4096], "data_offsets": [0, 4096 * 4]}}
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 64)  # the tensor starts 64-byte aligned
    path = tmp_path / "m.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + values.tobytes())
    scale = KeyMapper.from_torch(path)["params"]["norm"]["scale"]
    with open(path, "r+b") as file:
        file.seek(8 + len(text))
        file.write(np.zeros(4096, np.float32).tobytes())
    np.testing.assert_array_equal(np.asarray(scale), values)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_a_tied_head_in_a_file_is_tied_not_unexpected(tmp_path: Path, suffix: str) -> None:
    """A torch file keeps the tie as shared storage (found whatever the names), safetensors as
    two equal copies (found for an embedding): read lazily, both are still tied."""
    embed = "inp" if suffix == ".pt" else "embed_tokens"  # "inp": no name says embedding
    model = torch.nn.ModuleDict({embed: torch.nn.Embedding(11, 4), "head": torch.nn.Linear(4, 11)})
    model["head"].weight = model[embed].weight
    state = randomize(model).state_dict()
    path = tmp_path / f"m{suffix}"
    if suffix == ".pt":
        torch.save(state, path)
    else:
        save_file({k: v.clone() for k, v in state.items()}, path)
    target = {
        "params": {
            embed: {"embedding": jax.ShapeDtypeStruct((11, 4), np.float32)},
            "head": {"bias": jax.ShapeDtypeStruct((11,), np.float32)},
        }
    }
    _, report = KeyMapper.from_torch(path, target=target, strict=True, return_report=True)
    assert report.tied == [("head.weight", f"{embed}.weight")] and not report
