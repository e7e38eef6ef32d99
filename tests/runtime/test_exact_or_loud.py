"""Exact or loud (issue 12): names the target uses as they are, weight norm, tied tensors and fixed
buffers, per-module square kernels, bf16 RNN biases, and a Report that behaves like torch's
`_IncompatibleKeys`. torch is the oracle."""

import warnings

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import torch
from flax import linen as nn
from torch.nn.modules.module import _IncompatibleKeys
from torch_oracle import assert_close, channels_last, randomize

from switcheroo_lsp.runtime import KeyMapper


def shapes(tree):
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), tree)


# ---------------------------------------------------------------- names as they are
class LinenRMSNorm(nn.Module):
    """transformers' Flax Llama/Mistral/T5 norm: its parameter is named `weight`."""

    @nn.compact
    def __call__(self, x):
        weight = self.param("weight", nn.initializers.ones, (x.shape[-1],))
        variance = jnp.mean(x * x, axis=-1, keepdims=True)
        return x * jax.lax.rsqrt(variance + 1e-6) * weight


def test_a_1d_weight_goes_to_a_target_leaf_named_weight() -> None:
    torch_norm = randomize(torch.nn.RMSNorm(8, eps=1e-6))
    x = torch.randn(3, 8)
    target = jax.eval_shape(LinenRMSNorm().init, jax.random.key(0), x.numpy())
    variables = KeyMapper.from_torch(torch_norm.state_dict(), target=target, strict=True)
    assert_close(LinenRMSNorm().apply(variables, x.numpy()), torch_norm(x))


def test_a_1d_weight_still_goes_to_scale_where_the_target_says_scale() -> None:
    torch_norm = randomize(torch.nn.RMSNorm(8, eps=1e-6))
    x = torch.randn(3, 8)
    flax_norm = nn.RMSNorm(epsilon=1e-6)
    target = jax.eval_shape(flax_norm.init, jax.random.key(0), x.numpy())
    variables = KeyMapper.from_torch(torch_norm.state_dict(), target=target, strict=True)
    assert_close(flax_norm.apply(variables, x.numpy()), torch_norm(x))


# ---------------------------------------------------------------- weight norm
@pytest.mark.parametrize("dim", [0, 2], ids=["dim0-default", "dim2-wav2vec2"])
def test_weight_norm_parametrization_is_the_weight_it_stands_for(dim: int) -> None:
    conv = torch.nn.Conv1d(4, 6, 3, padding=1)
    conv = randomize(torch.nn.utils.parametrizations.weight_norm(conv, dim=dim))
    state = conv.state_dict()
    assert "parametrizations.weight.original0" in state
    x = torch.randn(2, 4, 7)
    flax_conv = nn.Conv(6, (3,), padding=[(1, 1)])
    assert_close(flax_conv.apply(KeyMapper.from_torch(state), channels_last(x)), conv(x), True)
    target = jax.eval_shape(flax_conv.init, jax.random.key(0), channels_last(x))
    variables = KeyMapper.from_torch(state, target=target, strict=True)
    assert_close(flax_conv.apply(variables, channels_last(x)), conv(x), channels=True)


def test_old_weight_g_weight_v_form_is_the_weight_too() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.nn.utils.weight_norm is deprecated
        linear = randomize(torch.nn.utils.weight_norm(torch.nn.Linear(5, 3)))
    x = torch.randn(2, 5)
    variables = KeyMapper.from_torch(linear.state_dict())
    assert_close(nn.Dense(3).apply(variables, x.numpy()), linear(x))


def test_weight_norm_goes_to_g_and_v_as_they_are_when_the_target_has_them() -> None:
    conv = randomize(torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 6, 3), dim=2))
    state = conv.state_dict()
    g = state["parametrizations.weight.original0"].numpy()
    v = state["parametrizations.weight.original1"].numpy()
    target = {"params": {"weight_g": shapes(g), "weight_v": shapes(v), "bias": shapes(np.zeros(6))}}
    variables = KeyMapper.from_torch(state, target=target, strict=True)
    np.testing.assert_array_equal(variables["params"]["weight_g"], g)
    np.testing.assert_array_equal(variables["params"]["weight_v"], v)


# ---------------------------------------------------------------- tied tensors, fixed buffers
class TiedLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(11, 4)
        self.lm_head = torch.nn.Linear(4, 11, bias=False)
        self.lm_head.weight = self.embed_tokens.weight


def _embedding_only_target():
    return {"params": {"embed_tokens": {"embedding": jax.ShapeDtypeStruct((11, 4), jnp.float32)}}}


@pytest.mark.parametrize("as_numpy", [False, True], ids=["shared-storage", "identical-values"])
def test_a_tied_output_layer_absent_from_the_target_is_tied_not_unexpected(as_numpy) -> None:
    state = randomize(TiedLM()).state_dict()
    if as_numpy:  # numpy/safetensors input: copies, the same values
        state = {k: v.numpy().copy() for k, v in state.items()}
    variables, report = KeyMapper.from_torch(
        state, target=_embedding_only_target(), strict=True, return_report=True
    )
    assert report.tied == [("lm_head.weight", "embed_tokens.weight")]
    assert report.unexpected_keys == [] and not report
    assert "tied (1): lm_head.weight = embed_tokens.weight" in repr(report)
    np.testing.assert_array_equal(
        variables["params"]["embed_tokens"]["embedding"], state["embed_tokens.weight"]
    )


def test_an_untied_head_of_the_same_shape_is_still_unexpected() -> None:
    state = randomize(TiedLM()).state_dict()
    state["lm_head.weight"] = torch.randn(11, 4)
    with pytest.raises(ValueError, match="unexpected .*lm_head.weight"):
        KeyMapper.from_torch(state, target=_embedding_only_target(), strict=True)


def _sinusoids(positions: int, dim: int) -> torch.Tensor:
    angle = torch.arange(positions)[:, None] / 10000 ** (torch.arange(0, dim, 2) / dim)
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


def test_fixed_buffers_are_reported_apart_and_strict_passes() -> None:
    state = {
        "embeddings.position_ids": torch.arange(6)[None],
        "rotary.inv_freq": torch.rand(4),
        "attn.bias": torch.tril(torch.ones(6, 6, dtype=torch.bool))[None, None],
        "embed_positions.weight": _sinusoids(6, 4),
        "fc.weight": torch.randn(3, 4),
        "fc.bias": torch.randn(3),
    }
    target = {"params": {"fc": {"kernel": shapes(np.zeros((4, 3), np.float32)),
                                "bias": shapes(np.zeros(3, np.float32))}}}  # fmt: skip
    _, report = KeyMapper.from_torch(state, target=target, strict=True, return_report=True)
    assert sorted(report.buffers) == sorted(k for k in state if not k.startswith("fc"))
    assert report.unexpected_keys == []


def test_a_learned_position_table_is_not_a_fixed_buffer() -> None:
    state = {"embed_positions.weight": torch.randn(6, 4), "fc.weight": torch.randn(3, 4)}
    target = {"params": {"fc": {"kernel": shapes(np.zeros((4, 3), np.float32))}}}
    with pytest.raises(ValueError, match="unexpected .*embed_positions.weight"):
        KeyMapper.from_torch(state, target=target, strict=True)


# ---------------------------------------------------------------- square kernels, per module
def _gpt2_attention_and_square_mlp() -> dict:
    d = 6
    return {
        "attn.c_attn.weight": torch.randn(d, 3 * d),  # transformers Conv1D: (in, out)
        "attn.c_attn.bias": torch.randn(3 * d),
        "attn.c_proj.weight": torch.randn(d, d),  # square Conv1D: its sibling says so
        "attn.c_proj.bias": torch.randn(d),
        "mlp.fc.weight": torch.randn(d, d),  # square nn.Linear in another module
        "mlp.fc.bias": torch.randn(d),
    }


def test_a_conv1d_says_nothing_about_a_square_linear_in_another_module() -> None:
    state = _gpt2_attention_and_square_mlp()
    with pytest.warns(UserWarning, match="mlp.fc.weight"):
        variables, report = KeyMapper.from_torch(state, return_report=True)
    params = variables["params"]
    np.testing.assert_array_equal(params["attn"]["c_proj"]["kernel"], state["attn.c_proj.weight"])
    np.testing.assert_array_equal(params["mlp"]["fc"]["kernel"], state["mlp.fc.weight"].T)
    assert len(report.ambiguous) == 1 and "nn.Linear or transformers Conv1D" in report.ambiguous[0]


def test_with_a_target_square_kernels_follow_their_own_module() -> None:
    state = _gpt2_attention_and_square_mlp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = shapes(KeyMapper.from_torch(state))
    variables = KeyMapper.from_torch(state, target=target, strict=True)
    params = variables["params"]
    np.testing.assert_array_equal(params["attn"]["c_proj"]["kernel"], state["attn.c_proj.weight"])
    np.testing.assert_array_equal(params["mlp"]["fc"]["kernel"], state["mlp.fc.weight"].T)


def test_a_checkpoint_without_conv1d_has_no_square_doubt() -> None:
    state = {"q.weight": torch.randn(4, 4), "q.bias": torch.randn(4)}
    _, report = KeyMapper.from_torch(state, return_report=True)
    assert not report


# ---------------------------------------------------------------- bf16 recurrent biases
def test_bf16_lstm_biases_are_summed_in_the_targets_fp32() -> None:
    lstm = randomize(torch.nn.LSTM(3, 4, batch_first=True)).to(torch.bfloat16)
    state = lstm.state_dict()
    fp32 = KeyMapper.from_torch({k: v.float() for k, v in state.items()})
    target = shapes(fp32)
    variables = KeyMapper.from_torch(state, target=target, strict=True)
    expected = (state["bias_ih_l0"].float() + state["bias_hh_l0"].float()).numpy()
    got = np.concatenate([variables["params"]["cell"][g]["bias"] for g in ("hi", "hf", "hg", "ho")])
    np.testing.assert_array_equal(got, expected)
    bf16 = KeyMapper.from_torch(state)["params"]["cell"]["hi"]["bias"]  # no target: kept bf16
    assert np.asarray(bf16).dtype == ml_dtypes.bfloat16


# ---------------------------------------------------------------- the report, as torch's
def _report_and_torch_keys(missing: list[str], unexpected: list[str]):
    report = KeyMapper.Report((missing, unexpected))
    return report, _IncompatibleKeys(list(missing), list(unexpected))


@pytest.mark.parametrize(
    "missing, unexpected", [([], []), (["a/kernel"], []), (["a/kernel"], ["b.weight", "c.bias"])]
)
def test_report_is_used_like_torchs_incompatible_keys(missing, unexpected) -> None:
    report, keys = _report_and_torch_keys(missing, unexpected)
    got_missing, got_unexpected = report
    want_missing, want_unexpected = keys
    assert (got_missing, got_unexpected) == (want_missing, want_unexpected)
    assert (report[0], report[1]) == (keys[0], keys[1])
    assert len(report) == len(keys) == 2
    assert report.missing_keys == keys.missing_keys
    assert report.unexpected_keys == keys.unexpected_keys
    assert (report == (missing, unexpected)) is (keys == (missing, unexpected)) is True
    assert (report == ([], [])) == (keys == ([], []))
    assert report == keys and tuple(report) == tuple(keys)
    assert isinstance(report, tuple) and isinstance(keys, tuple)


def test_report_from_a_conversion_unpacks_and_compares() -> None:
    state = {
        "fc.weight": torch.zeros(3, 4),
        "fc.bias": torch.zeros(3),
        "extra.bias": torch.zeros(2),
    }
    target = {"params": {"fc": {"kernel": shapes(np.zeros((4, 3), np.float32))},
                         "head": {"bias": shapes(np.zeros(5, np.float32))}}}  # fmt: skip
    with pytest.warns(UserWarning):
        _, report = KeyMapper.from_torch(state, target=target, return_report=True)
    assert report == (["params/head/bias"], ["fc.bias", "extra.bias"])
    missing, unexpected = report
    assert missing[0] == report[0][0] == "params/head/bias"
    assert "missing (1): params/head/bias" in repr(report)
    assert "unexpected (2): fc.bias; extra.bias" in repr(report)


def test_report_says_all_mapped_only_when_nothing_is_in_doubt() -> None:
    clean, _ = _report_and_torch_keys([], [])
    assert repr(clean) == "all mapped" and not clean
    clean.ambiguous.append("blocks.0.fc -> Dense_1: it could swap with blocks.0.skip")
    assert "all mapped" not in repr(clean) and clean
    assert clean == ([], [])  # the torch-like part is still empty


def test_report_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    report = KeyMapper.Report((["a"], ["b"]))
    report.tied.append(("lm_head.weight", "wte.weight"))
    for again in (copy.deepcopy(report), pickle.loads(pickle.dumps(report))):
        assert again == (["a"], ["b"]) and again.tied == report.tied


# ---------------------------------------------------------------- order as evidence
class TorchMLP(torch.nn.Module):
    """net.0, net.2, ..., net.22 (the ReLUs take the odd indices), all 8 -> 8."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        for i in range(12):
            layers += [torch.nn.Linear(8, 8)] + ([torch.nn.ReLU()] if i < 11 else [])
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class CompactMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        for _ in range(11):
            x = nn.relu(nn.Dense(8)(x))
        return nn.Dense(8)(x)  # Dense_11: sorts before Dense_2 in the target's dict


def test_a_sequential_goes_to_compact_dense_layers_in_order_not_by_index() -> None:
    tm = randomize(TorchMLP())
    x = torch.randn(3, 8)
    target = jax.eval_shape(CompactMLP().init, jax.random.key(0), x.numpy())
    variables, report = KeyMapper.from_torch(
        tm.state_dict(), target=target, strict=True, return_report=True
    )
    assert ("net.2", "Dense_1") in report.renamed and ("net.22", "Dense_11") in report.renamed
    assert_close(CompactMLP().apply(variables, x.numpy()), tm(x))


class TorchOuterFirst(torch.nn.Module):
    """The skip projection is registered first but runs last; every layer is 8 -> 8."""

    def __init__(self) -> None:
        super().__init__()
        self.skip = torch.nn.Linear(8, 8)
        self.fc1 = torch.nn.Linear(8, 8)
        self.fc2 = torch.nn.Linear(8, 8)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))) + self.skip(x)


class CompactOuterFirst(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.Dense(8)(nn.relu(nn.Dense(8)(x)))  # Dense_0 is fc2: built before its argument
        return h + nn.Dense(8)(x)


def test_equal_shape_layers_whose_order_the_names_do_not_carry_are_ambiguous() -> None:
    tm = randomize(TorchOuterFirst())
    target = jax.eval_shape(CompactOuterFirst().init, jax.random.key(0), np.zeros((1, 8)))
    with pytest.raises(ValueError, match=r"ambiguous .*skip"):
        KeyMapper.from_torch(tm.state_dict(), target=target, strict=True)
    with pytest.warns(UserWarning, match="could swap"):
        _, report = KeyMapper.from_torch(tm.state_dict(), target=target, return_report=True)
    assert report and "all mapped" not in repr(report)
