"""checkpoints.headers and checkpoints.torch_zip: a checkpoint's tensor metadata from its headers,
checked against torch's own loader; hostile pickles refused; the cache keyed on mtime and size."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from checkpoint_files import SMALL_MODEL, hostile_pickle_zip, write_safetensors, write_sharded
from switcheroo_lsp.checkpoints.headers import HeaderCache, Tensor, read_header, tensors_of
from switcheroo_lsp.checkpoints.torch_zip import UnsafeCheckpoint

torch = pytest.importorskip("torch")

TORCH_DTYPES = {
    torch.bfloat16: "bfloat16",
    torch.float32: "float32",
    torch.int64: "int64",
    torch.float16: "float16",
}


def torch_model() -> object:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 3, bias=False)
    )
    net[0].to(torch.bfloat16)
    return net


def test_safetensors_header_gives_every_tensor_with_shape_dtype_and_bytes(tmp_path: Path) -> None:
    path = write_safetensors(tmp_path / "model.safetensors", SMALL_MODEL, {"format": "pt"})

    header = read_header(path)

    assert header.kind == "safetensors" and header.files == (path,)
    assert {key: (t.shape, t.dtype) for key, t in header.tree.items()} == SMALL_MODEL
    assert header.tree["encoder.0.weight"].nbytes == 64 * 32 * 2


def test_torch_zip_metadata_matches_what_torch_load_gives(tmp_path: Path) -> None:
    net = torch_model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "last.pt"
    torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 7}, path)
    loaded = torch.load(path, weights_only=True)

    header = read_header(path)

    assert header.kind == "torch zip"
    assert header.tree["epoch"] == 7
    expected = {k: (tuple(v.shape), TORCH_DTYPES[v.dtype]) for k, v in loaded["model"].items()}
    assert {k: (t.shape, t.dtype) for k, t in header.tree["model"].items()} == expected
    assert tensors_of(header.tree)["model.0.weight"].nbytes == 8 * 6 * 2
    assert header.tree["optimizer"]["param_groups"][0]["lr"] == 0.1


def test_a_bare_state_dict_saved_by_torch_reads_flat(tmp_path: Path) -> None:
    net = torch_model()
    path = tmp_path / "weights.pth"
    torch.save(net.state_dict(), path)

    tree = read_header(path).tree

    assert list(tree) == list(net.state_dict())
    assert all(isinstance(value, Tensor) for value in tree.values())


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = hostile_pickle_zip(tmp_path / "evil.pt", marker)
    payload = zipfile.ZipFile(path).read("archive/data.pkl")

    with pytest.raises(UnsafeCheckpoint, match=r"os\.system|posix\.system"):
        read_header(path)
    assert not marker.exists()
    pickle.loads(payload)  # the payload really is hostile: a plain unpickler runs it
    assert marker.exists()


def test_a_legacy_or_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    legacy = tmp_path / "old.pt"
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="not a zip checkpoint"):
        read_header(legacy)
    with pytest.raises(FileNotFoundError):
        read_header(tmp_path / "absent.safetensors")
    (tmp_path / "folder.pt").mkdir()
    with pytest.raises(ValueError, match="not a file"):
        read_header(tmp_path / "folder.pt")


def test_index_json_reads_every_shard_header(tmp_path: Path) -> None:
    index = write_sharded(tmp_path, SMALL_MODEL, shards=4)

    header = read_header(index)

    assert header.kind == "sharded safetensors"
    assert len(header.files) == 5 and header.problems == ()
    assert {key: (t.shape, t.dtype) for key, t in header.tree.items()} == SMALL_MODEL


def test_index_json_with_a_missing_shard_is_an_error_naming_it(tmp_path: Path) -> None:
    index = write_sharded(tmp_path, SMALL_MODEL, shards=2)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()

    with pytest.raises(FileNotFoundError, match="model-00002-of-00002.safetensors"):
        read_header(index)


def test_index_json_naming_a_shard_outside_its_folder_does_not_read_it(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    write_safetensors(tmp_path / "elsewhere.safetensors", {"w": ((2,), "float32")})
    index = tmp_path / "index" / "model.safetensors.index.json"
    index.write_text('{"weight_map": {"w": "../elsewhere.safetensors"}}')

    header = read_header(index)

    assert header.tree == {} and header.files == (index,)
    assert header.problems == (
        f"shard {tmp_path / 'elsewhere.safetensors'} is not beside the index: not read",
    )


def test_a_torch_index_reads_each_torch_shard_like_torch_load(tmp_path: Path) -> None:
    state = torch_model().state_dict()
    keys = list(state)
    shards = {
        "pytorch_model-00001-of-00002.bin": keys[:3],
        "pytorch_model-00002-of-00002.bin": keys[3:],
    }
    for name, part in shards.items():
        torch.save({key: state[key] for key in part}, tmp_path / name)
    index = tmp_path / "pytorch_model.bin.index.json"
    weight_map = {key: name for name, part in shards.items() for key in part}
    index.write_text(json.dumps({"weight_map": weight_map}))

    header = read_header(index)

    assert header.kind == "sharded torch" and len(header.files) == 3
    expected = {k: (tuple(v.shape), TORCH_DTYPES[v.dtype]) for k, v in state.items()}
    assert {k: (t.shape, t.dtype) for k, t in header.tree.items()} == expected


def test_the_cache_rereads_only_when_a_file_changes(tmp_path: Path) -> None:
    index = write_sharded(tmp_path, SMALL_MODEL, shards=3)
    cache = HeaderCache()

    first = cache.get(index)
    assert cache.get(index) is first and cache.reads == 1

    shard = tmp_path / "model-00003-of-00003.safetensors"
    write_safetensors(
        shard, {"head.weight": ((10, 64), "float32"), "head.bias": ((10,), "float32")}
    )
    os.utime(shard, ns=(1, 1))  # a new mtime even on a coarse clock
    again = cache.get(index)

    assert cache.reads == 2 and again.tree["head.weight"].dtype == "float32"
