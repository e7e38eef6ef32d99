"""Input that used to crash KeyMapper with IndexError, RecursionError or a vague "not readable": each
is now a clear error naming the key, the cycle or the dtype, and FP8 checkpoints load bit for bit."""

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from switcheroo_lsp.runtime import KeyMapper

FP8 = [
    pytest.param(torch.float8_e4m3fn, ml_dtypes.float8_e4m3fn, id="e4m3fn"),
    pytest.param(torch.float8_e5m2, ml_dtypes.float8_e5m2, id="e5m2"),
]


def fp8_tensor(dtype: torch.dtype, shape: tuple) -> torch.Tensor:
    """Random values (a spread of exponents) rounded to an FP8 dtype by torch itself."""
    return (torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * 3).to(dtype)


# ---------------------------------------------------------------- keys that are only wrappers
@pytest.mark.parametrize("key", ["_orig_mod", "_orig_mod._orig_mod"])
def test_a_key_that_is_only_wrapper_prefixes_is_an_error_naming_it(key: str) -> None:
    state = {"fc.weight": torch.zeros(3, 4), key: torch.zeros(3)}
    with pytest.raises(ValueError, match=rf"'{key}' is only wrapper prefixes"):
        KeyMapper.from_torch(state)


# ---------------------------------------------------------------- cyclic state dicts
def test_a_dict_that_contains_itself_names_the_cycle() -> None:
    inner: dict = {"weight": torch.zeros(2, 2)}
    state = {"a": inner}
    inner["b"] = inner
    with pytest.raises(ValueError, match=r"'a\.b' refers back to 'a'"):
        KeyMapper.from_torch(state)


def test_a_dict_that_contains_the_whole_state_names_the_cycle() -> None:
    state: dict = {"fc": {"weight": torch.zeros(2, 2)}}
    state["fc"]["loop"] = state
    with pytest.raises(ValueError, match=r"'fc\.loop' refers back to the state dict itself"):
        KeyMapper.from_torch(state)


def test_one_dict_reached_twice_without_a_cycle_still_converts() -> None:
    shared = {"weight": torch.randn(3, 4), "bias": torch.randn(3)}
    variables = KeyMapper.from_torch({"fc1": shared, "fc2": shared})
    np.testing.assert_array_equal(variables["params"]["fc2"]["bias"], shared["bias"].numpy())


# ---------------------------------------------------------------- FP8 and other dtypes
@pytest.mark.parametrize(("torch_dtype", "numpy_dtype"), FP8)
def test_fp8_safetensors_file_loads_bit_for_bit(
    tmp_path: Path, torch_dtype: torch.dtype, numpy_dtype
) -> None:
    weight, bias = fp8_tensor(torch_dtype, (3, 4)), fp8_tensor(torch_dtype, (3,))
    scale = torch.randn(3)  # an FP8 checkpoint keeps its scales in fp32 beside the weights
    save_file({"fc.weight": weight, "fc.bias": bias, "fc.scale": scale}, tmp_path / "m.safetensors")
    params = KeyMapper.from_torch(tmp_path / "m.safetensors")["params"]["fc"]
    kernel = np.asarray(params["kernel"])
    assert kernel.dtype == numpy_dtype
    np.testing.assert_array_equal(
        kernel.view(np.uint8), weight.T.contiguous().view(torch.uint8).numpy()
    )
    np.testing.assert_array_equal(
        np.asarray(params["bias"]).view(np.uint8), bias.view(torch.uint8).numpy()
    )
    np.testing.assert_array_equal(np.asarray(params["scale"]), scale.numpy())


@pytest.mark.parametrize(("torch_dtype", "numpy_dtype"), FP8)
def test_fp8_safetensors_file_gives_the_same_tree_as_the_state_dict(
    tmp_path: Path, torch_dtype: torch.dtype, numpy_dtype
) -> None:
    state = {"fc.weight": fp8_tensor(torch_dtype, (5, 2)), "fc.bias": fp8_tensor(torch_dtype, (5,))}
    save_file(state, tmp_path / "m.safetensors")
    from_file = KeyMapper.from_torch(tmp_path / "m.safetensors")["params"]["fc"]
    from_state = KeyMapper.from_torch(state)["params"]["fc"]
    for name in ("kernel", "bias"):
        assert (
            np.asarray(from_file[name]).dtype == np.asarray(from_state[name]).dtype == numpy_dtype
        )
        np.testing.assert_array_equal(
            np.asarray(from_file[name]).view(np.uint8), np.asarray(from_state[name]).view(np.uint8)
        )


@pytest.mark.parametrize(
    ("torch_dtype", "name"),
    [(torch.float8_e4m3fnuz, "F8_E4M3FNUZ"), (torch.float8_e8m0fnu, "F8_E8M0")],
)
def test_unsupported_safetensors_dtype_names_the_key_and_the_dtype(
    tmp_path: Path, torch_dtype: torch.dtype, name: str
) -> None:
    save_file(
        {"fc.weight": torch.ones(3, 4).to(torch_dtype), "fc.bias": torch.zeros(3)},
        tmp_path / "m.safetensors",
    )
    with pytest.raises(
        ValueError, match=rf"'fc\.weight' is a {name} tensor, a dtype KeyMapper cannot read"
    ):
        KeyMapper.from_torch(tmp_path / "m.safetensors")


@pytest.mark.parametrize("cut", [-4, 200])
def test_truncated_fp8_safetensors_file_names_the_file(tmp_path: Path, cut: int) -> None:
    save_file({"fc.weight": fp8_tensor(torch.float8_e4m3fn, (30, 40))}, tmp_path / "m.safetensors")
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(data[:cut])
    with pytest.raises(ValueError, match=r"m\.safetensors: not a readable safetensors checkpoint"):
        KeyMapper.from_torch(tmp_path / "m.safetensors")


@pytest.mark.parametrize(
    "header",
    [b"[" * 100_000, b'{"fc.weight": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 9]}}'],
    ids=["nested-without-end", "offsets-past-the-end"],
)
def test_bad_safetensors_header_names_the_file(tmp_path: Path, header: bytes) -> None:
    (tmp_path / "m.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0\0")
    with pytest.raises(ValueError, match=r"m\.safetensors: not a readable safetensors checkpoint"):
        KeyMapper.from_torch(tmp_path / "m.safetensors")


def test_a_folder_named_like_a_safetensors_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "m.safetensors").mkdir()
    with pytest.raises(ValueError, match=r"m\.safetensors: not a readable safetensors checkpoint"):
        KeyMapper.from_torch(tmp_path / "m.safetensors")


@pytest.mark.parametrize("torch_dtype", [torch.float8_e4m3fn, torch.float8_e5m2])
def test_fp8_safetensors_file_takes_a_float32_targets_dtype_exactly(
    tmp_path: Path, torch_dtype: torch.dtype
) -> None:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    state = {"weight": fp8_tensor(torch_dtype, (3, 4)), "bias": fp8_tensor(torch_dtype, (3,))}
    save_file(state, tmp_path / "m.safetensors")
    target = nn.Dense(3).init(jax.random.key(0), jnp.zeros((1, 4)))
    params = KeyMapper.from_torch(tmp_path / "m.safetensors", target=target)["params"]
    assert np.asarray(params["kernel"]).dtype == np.float32
    np.testing.assert_array_equal(np.asarray(params["kernel"]), state["weight"].float().T.numpy())
    np.testing.assert_array_equal(np.asarray(params["bias"]), state["bias"].float().numpy())
