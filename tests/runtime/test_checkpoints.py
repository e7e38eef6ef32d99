"""Checkpoints as they come: files of every format, dtypes, wrappers and prefixes, and bad input that
must fail with a clear error naming the key (or, against a target, a complete report)."""

import subprocess
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file
from torch_oracle import assert_same_tree, randomize

from switcheroo_lsp.runtime import KeyMapper


def small_model() -> torch.nn.Module:
    return randomize(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)))


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin"])
def test_torch_files_load_like_the_state_dict(tmp_path: Path, suffix: str) -> None:
    sd = small_model().state_dict()
    torch.save(sd, tmp_path / f"m{suffix}")
    assert_same_tree(KeyMapper.from_torch(tmp_path / f"m{suffix}"), KeyMapper.from_torch(sd))
    assert_same_tree(KeyMapper.from_torch(str(tmp_path / f"m{suffix}")), KeyMapper.from_torch(sd))


def test_legacy_torch_file_without_zip_format_still_loads(tmp_path: Path) -> None:
    sd = small_model().state_dict()
    torch.save(sd, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert_same_tree(KeyMapper.from_torch(tmp_path / "old.pt"), KeyMapper.from_torch(sd))


def test_training_checkpoint_wrapper_is_unwrapped_and_the_rest_reported(tmp_path: Path) -> None:
    sd = small_model().state_dict()
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "ckpt.pt")
    variables, report = KeyMapper.from_torch(tmp_path / "ckpt.pt", return_report=True)
    assert_same_tree(variables, KeyMapper.from_torch(sd))
    assert any("epoch" in d for d in report.dropped)


def test_safetensors_loads_without_importing_torch(tmp_path: Path) -> None:
    sd = {k: v.contiguous() for k, v in small_model().state_dict().items()}
    sd["0.weight"] = sd["0.weight"].to(torch.bfloat16)
    save_file(sd, tmp_path / "m.safetensors")
    code = (
        "import sys; sys.modules['torch'] = None\n"  # any `import torch` now fails
        "from switcheroo_lsp.runtime import KeyMapper\n"
        f"v = KeyMapper.from_torch({str(tmp_path / 'm.safetensors')!r})\n"
        "k = v['params']['layers_0']['kernel']\n"
        "print(k.shape, k.dtype, sorted(v['batch_stats']['layers_1']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["(4,", "3)", "bfloat16", "['mean',", "'var']"]


def test_safetensors_and_torch_file_give_the_same_tree(tmp_path: Path) -> None:
    sd = small_model().state_dict()
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "m.safetensors")
    assert_same_tree(KeyMapper.from_torch(tmp_path / "m.safetensors"), KeyMapper.from_torch(sd))


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_dtypes_are_kept_bit_for_bit(dtype: torch.dtype) -> None:
    tm = small_model().to(dtype)
    variables = KeyMapper.from_torch(tm.state_dict())
    kernel = np.asarray(variables["params"]["layers_0"]["kernel"])
    expected_dtype = {torch.bfloat16: ml_dtypes.bfloat16, torch.float16: np.float16}.get(
        dtype, np.float32
    )
    assert kernel.dtype == expected_dtype
    bits = torch.int16 if dtype != torch.float32 else torch.int32
    assert np.array_equal(
        kernel.view(np.dtype(f"i{kernel.itemsize}")),
        tm[0].weight.detach().T.contiguous().view(bits).numpy(),
    )


def test_integer_buffers_keep_their_values() -> None:
    state = {
        "counter": torch.tensor([2**40, -5], dtype=torch.int64),
        "mask": torch.tensor([1, 0], dtype=torch.uint8),
    }
    variables = KeyMapper.from_torch(state)
    assert variables["params"]["counter"].dtype == np.int64
    assert variables["params"]["counter"].tolist() == [2**40, -5]
    assert np.asarray(variables["params"]["mask"]).dtype == np.uint8


def test_numpy_and_jax_state_dicts_are_accepted() -> None:
    sd = small_model().state_dict()
    expected = KeyMapper.from_torch(sd)
    assert_same_tree(KeyMapper.from_torch({k: v.numpy() for k, v in sd.items()}), expected)
    floats = {k: jnp.asarray(v.numpy()) for k, v in sd.items() if v.is_floating_point()}
    assert_same_tree(KeyMapper.from_torch(floats), expected)


def test_target_dtype_wins() -> None:
    sd = small_model().state_dict()
    target = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, jnp.bfloat16), KeyMapper.from_torch(sd)
    )
    variables = KeyMapper.from_torch(sd, target=target)
    assert {str(v.dtype) for v in jax.tree.leaves(variables)} == {"bfloat16"}


# ---------------------------------------------------------------- prefixes
def test_data_parallel_and_compile_prefixes_are_stripped() -> None:
    tm = small_model()
    expected = KeyMapper.from_torch(tm.state_dict())
    compiled = {f"_orig_mod.{k}": v for k, v in tm.state_dict().items()}  # torch.compile(model)
    assert_same_tree(KeyMapper.from_torch(compiled), expected)
    inner = {k.replace("1.", "1._orig_mod."): v for k, v in tm.state_dict().items()}  # a submodule
    assert_same_tree(KeyMapper.from_torch(inner), expected)
    parallel = {f"module.{k}": v for k, v in tm.state_dict().items()}
    assert_same_tree(KeyMapper.from_torch(parallel), expected)


def test_keys_that_collide_after_unwrapping_are_an_error() -> None:
    w = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"'fc.weight' and 'module.fc.weight'"):
        KeyMapper.from_torch({"fc.weight": w, "module.fc.weight": w, "fc.bias": torch.zeros(3)})


# ---------------------------------------------------------------- bad checkpoints
def test_non_tensor_value_names_the_key() -> None:
    with pytest.raises(TypeError, match=r"'epoch' holds a int"):
        KeyMapper.from_torch({"fc.weight": torch.zeros(2, 2), "epoch": 3})


def test_meta_tensor_names_the_key() -> None:
    with pytest.raises(TypeError, match=r"'fc.weight'"):
        KeyMapper.from_torch({"fc.weight": torch.empty(2, 2, device="meta")})


@pytest.mark.parametrize("state", [{}, {"nested": {}}, torch.nn.Sequential().state_dict()])
def test_empty_state_dict_is_an_error(state) -> None:
    with pytest.raises(ValueError, match="empty state dict"):
        KeyMapper.from_torch(state)


def test_not_a_state_dict_is_an_error() -> None:
    with pytest.raises(TypeError, match="expected a state dict"):
        KeyMapper.from_torch([torch.zeros(2)])


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04" + b"\x00" * 40])
def test_corrupt_torch_file_names_the_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "bad.pt").write_bytes(content)
    with pytest.raises(ValueError, match=r"bad\.pt: not a readable PyTorch checkpoint"):
        KeyMapper.from_torch(tmp_path / "bad.pt")


def test_truncated_torch_file_names_the_file(tmp_path: Path) -> None:
    torch.save(small_model().state_dict(), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "m.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"m\.pt: not a readable PyTorch checkpoint"):
        KeyMapper.from_torch(tmp_path / "m.pt")


@pytest.mark.parametrize("cut", [0, 5, 60, -8])
def test_corrupt_safetensors_file_names_the_file(tmp_path: Path, cut: int) -> None:
    save_file(
        {"fc.weight": torch.zeros(3, 4), "fc.bias": torch.zeros(3)}, tmp_path / "m.safetensors"
    )
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(data[:cut])
    with pytest.raises(ValueError, match=r"m\.safetensors: not a readable safetensors checkpoint"):
        KeyMapper.from_torch(tmp_path / "m.safetensors")


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KeyMapper.from_torch(tmp_path / "nope.pt")


@pytest.mark.parametrize(
    "state, key",
    [
        ({"fc.weight": torch.zeros(3, 4), "fc.bias": torch.zeros(5)}, "fc.bias"),
        (
            {
                "bn.weight": torch.zeros(3),
                "bn.running_mean": torch.zeros(4),
                "bn.running_var": torch.zeros(3),
            },
            "bn.weight",
        ),
        (
            {"rnn.weight_ih_l0": torch.zeros(8, 3), "rnn.weight_hh_l0": torch.zeros(8, 3)},
            "rnn.weight_ih_l0",
        ),
        ({"attn.in_proj_weight": torch.zeros(7, 4)}, "attn.in_proj_weight"),
        ({"rnn.weight_ih_l0": torch.zeros(8, 3)}, "rnn layer 0"),
    ],
    ids=["linear-bias", "batchnorm", "lstm", "attention", "rnn-incomplete"],
)
def test_inconsistent_shapes_name_the_key(state, key) -> None:
    with pytest.raises(ValueError, match=key):
        KeyMapper.from_torch(state)


# ---------------------------------------------------------------- against a target
def _target_and_broken_state():
    sd = small_model().state_dict()
    target = jax.eval_shape(lambda: KeyMapper.from_torch(sd))
    target["params"]["layers_2"] = {"kernel": jax.ShapeDtypeStruct((3, 2), jnp.float32)}  # missing
    broken = dict(sd, **{"0.bias": torch.zeros(5), "extra.weight": torch.zeros(2, 2, 2)})
    return target, broken


def test_strict_raises_one_error_listing_every_problem() -> None:
    target, broken = _target_and_broken_state()
    with pytest.raises(ValueError) as err:
        KeyMapper.from_torch(broken, target=target, strict=True)
    message = str(err.value)
    for expected in ("params/layers_2/kernel", "extra.weight", "0.bias", "(5,) vs target (3,)"):
        assert expected in message


def test_non_strict_returns_what_mapped_and_warns_once() -> None:
    target, broken = _target_and_broken_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        variables, report = KeyMapper.from_torch(broken, target=target, return_report=True)
    assert len(caught) == 1 and "extra.weight" in str(caught[0].message)
    missing, unexpected = report  # like torch's load_state_dict(strict=False)
    assert missing == report.missing_keys == ["params/layers_0/bias", "params/layers_2/kernel"]
    assert unexpected == report.unexpected_keys == ["extra.weight"]
    assert [m[:2] for m in report.mismatched] == [("0.bias", "layers_0/bias")]
    assert "bias" not in variables["params"]["layers_0"] and "layers_2" not in variables["params"]
    assert variables["params"]["layers_0"]["kernel"].shape == (4, 3)


def test_missing_keys_keep_the_targets_own_arrays() -> None:
    sd = small_model().state_dict()
    target = jax.tree.map(np.asarray, KeyMapper.from_torch(sd))
    target["params"]["head"] = {"kernel": np.full((3, 2), 7.0, np.float32)}
    with pytest.warns(UserWarning, match="params/head/kernel"):
        variables = KeyMapper.from_torch(sd, target=target)
    assert np.array_equal(variables["params"]["head"]["kernel"], target["params"]["head"]["kernel"])


def test_renamed_layers_are_matched_by_shape_and_reported() -> None:
    sd = small_model().state_dict()
    target = jax.eval_shape(lambda: KeyMapper.from_torch(sd))
    target = {c: {k.replace("layers_", "Dense_" if c == "params" and k == "layers_0" else "BatchNorm_"): v
                  for k, v in t.items()} for c, t in target.items()}  # fmt: skip
    target["params"]["BatchNorm_1"] = target["params"].pop("BatchNorm_1")
    variables, report = KeyMapper.from_torch(sd, target=target, strict=True, return_report=True)
    assert sorted(report.renamed) == [("0", "Dense_0"), ("1", "BatchNorm_1")]
    assert variables["batch_stats"]["BatchNorm_1"]["mean"].shape == (3,)


def test_a_layer_whose_name_exists_with_the_wrong_shape_is_not_moved_elsewhere() -> None:
    fc = {
        "fc1.weight": torch.zeros(3, 4),
        "fc1.bias": torch.zeros(3),
        "fc2.weight": torch.zeros(5, 4),
        "fc2.bias": torch.zeros(5),
    }
    target = jax.eval_shape(lambda: KeyMapper.from_torch(fc))
    target["params"]["fc1"], target["params"]["fc2"] = (
        target["params"]["fc2"],
        target["params"]["fc1"],
    )
    _, report = (
        KeyMapper.from_torch(fc, target=target, return_report=True) if False else (None, None)
    )
    with pytest.warns(UserWarning):
        _, report = KeyMapper.from_torch(fc, target=target, return_report=True)
    assert not report.renamed
    assert {m[0] for m in report.mismatched} == set(fc)


def test_bad_target_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="target must be a tree"):
        KeyMapper.from_torch(small_model().state_dict(), target=[1, 2])


def _accounted(key: str, report, variables) -> bool:
    """A torch key is placed in the output, or the report names it."""
    named = [*report.unexpected_keys, *(m[0] for m in report.mismatched), *report.dropped]
    if any(key in entry for entry in named):
        return True
    module, leaf = key.rsplit(".", 1)
    node = variables["batch_stats" if leaf.startswith("running") else "params"]
    flax_leaf = {"weight": "kernel" if module == "0" else "scale", "running_mean": "mean"}
    flax_leaf["running_var"] = "var"
    return flax_leaf.get(leaf, leaf) in node.get(f"layers_{module}", {})


@settings(max_examples=30, deadline=None)
@given(
    drop=st.sets(st.sampled_from(sorted(small_model().state_dict())), max_size=3),
    extra=st.sets(st.sampled_from(["extra.weight", "0.scale_x", "head.bias"]), max_size=2),
    bad=st.sampled_from([None, "0.weight", "1.running_mean"]),
)
def test_nothing_is_dropped_without_appearing_in_the_report(drop, extra, bad) -> None:
    sd = small_model().state_dict()
    target = jax.eval_shape(lambda: KeyMapper.from_torch(sd))
    state = {k: v for k, v in sd.items() if k not in drop} | {k: torch.zeros(2) for k in extra}
    if bad in state:
        state[bad] = torch.zeros(*(d + 1 for d in state[bad].shape))
    if not state:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        variables, report = KeyMapper.from_torch(state, target=target, return_report=True)
    assert all(_accounted(k, report, variables) for k in state), (report, variables)
    placed = {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(variables)}
    expected = {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(target)}
    missing = {"".join(f"['{w}']" for w in m.split("/")) for m in report.missing_keys}
    assert placed | missing == expected and not placed & missing
