"""KeyMapper.to_torch, the way back (issue 16): `to_torch(from_torch(sd), like=sd)` is `sd` bit for
bit for whole models (ResNet with BatchNorm counters, a Transformer stack, LSTM/GRU language
models, GPT-2 with its Conv1D and tied lm_head, weight norm) in fp32, bf16 and fp16, linen and NNX,
with and without a target whose names differ from torch's; and after training in JAX, torch
loading what to_torch gives computes what the Flax model computes. torch is the oracle."""

import copy
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import linen as nn
from flax import nnx
from hf_pairs import FAMILIES, MORE_FAMILIES, build
from test_layers import RNNS, LinenRNN, NnxRNN
from test_models import (
    LinenEncoder,
    LinenLM,
    LinenResNet,
    NnxEncoder,
    NnxLM,
    NnxResNet,
    TorchEncoder,
    TorchLM,
    TorchResNet,
)
from torch_oracle import assert_close, channels_last, load_nnx, randomize

from switcheroo_lsp.runtime import KeyMapper

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
NAMES = [family.name for family in FAMILIES + MORE_FAMILIES]
IMAGE = np.zeros((1, 8, 8, 3), np.float32)
IDS = np.zeros((1, 7), np.int32)


def in_dtype(state: dict, dtype: torch.dtype) -> dict:
    """The state dict with its float tensors in `dtype` (counters stay int64)."""
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def bits(t: torch.Tensor) -> torch.Tensor:
    """The tensor's bits as integers: equal bits, not merely equal values (-0.0 is not 0.0)."""
    if not t.is_floating_point():
        return t
    return t.view(
        {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    )


def assert_bit_exact(back: dict, state: dict, ordered: bool = True) -> None:
    """Same keys (in the same order unless told), every tensor with the same dtype, shape and
    bits."""
    assert list(back) == list(state) if ordered else sorted(back) == sorted(state)
    for key, expected in state.items():
        got = back[key]
        assert isinstance(got, torch.Tensor), key
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), key
        assert torch.equal(bits(got), bits(expected)), key


@contextmanager
def silent() -> Iterator[None]:
    """Any warning is an error: a clean round trip says nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def back_silently(variables, like, **kw) -> dict:
    with silent():
        return KeyMapper.to_torch(variables, like, **kw)


def trained(tree, seed: int = 0):
    """What training in JAX does to the variables: every float leaf moved by ~5% of itself
    (positive leaves such as running variances stay positive)."""
    rng = np.random.default_rng(seed)

    def step(x):
        x = np.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            return x
        noise = rng.standard_normal(x.shape).astype(np.float32)
        return jnp.asarray(x * (1 + 0.05 * noise), x.dtype)

    return jax.tree.map(step, tree)


def loaded(torch_model: torch.nn.Module, state: dict) -> torch.nn.Module:
    """A copy of the torch model with the state dict loaded strictly (every key, every shape)."""
    model = copy.deepcopy(torch_model)
    model.load_state_dict(state, strict=True)
    return model.eval()


# ---------------------------------------------------------------- ResNet, BatchNorm counters
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_resnet_round_trip_is_bit_exact(dtype: torch.dtype) -> None:
    state = in_dtype(randomize(TorchResNet()).state_dict(), dtype)
    assert any(k.endswith("num_batches_tracked") for k in state)
    target = jax.eval_shape(LinenResNet().init, jax.random.key(0), IMAGE)
    model = NnxResNet(nnx.Rngs(0))  # downsample.0 -> downsample/layers/0: renamed
    nnx_pure = KeyMapper.from_torch(state, target=model, strict=True)
    for variables, layout in [
        (KeyMapper.from_torch(state), "linen"),  # dtype kept
        (KeyMapper.from_torch(state, target=target, strict=True), "linen"),  # fp32
        (nnx_pure, "nnx"),
    ]:
        assert_bit_exact(back_silently(variables, state, layout=layout), state)
    load_nnx(model, nnx_pure)
    assert_bit_exact(back_silently(model, state), state)  # the NNX model itself
    assert_bit_exact(back_silently(nnx.state(model), state), state)  # its State


def test_resnet_trained_in_jax_runs_in_torch_as_in_flax() -> None:
    tm = randomize(TorchResNet())
    state = tm.state_dict()
    x = torch.randn(2, 3, 8, 8)
    target = jax.eval_shape(LinenResNet().init, jax.random.key(0), IMAGE)
    variables = trained(KeyMapper.from_torch(state, target=target, strict=True))
    back, report = KeyMapper.to_torch(variables, state, return_report=True)
    assert not report and report.kept == [k for k in state if k.endswith("num_batches_tracked")]
    flax_out = LinenResNet().apply(variables, channels_last(x))
    assert_close(flax_out, loaded(tm, back)(x))
    assert np.abs(np.asarray(flax_out) - tm(x).detach().numpy()).max() > 1e-3  # it did change


# ---------------------------------------------------------------- Transformer stack
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_transformer_stack_round_trip_is_bit_exact(dtype: torch.dtype) -> None:
    state = in_dtype(randomize(TorchEncoder()).state_dict(), dtype)
    target = jax.eval_shape(LinenEncoder().init, jax.random.key(0), IDS)  # layer_0, not layers.0
    bf16_target = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, jnp.bfloat16), target)
    model = NnxEncoder(nnx.Rngs(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # without a target: Linear or Embedding? said
        plain = KeyMapper.from_torch(state, layout="nnx", num_heads=4)
    for variables, layout in [
        (plain, "nnx"),
        (KeyMapper.from_torch(state, target=target, strict=True), "linen"),
        (KeyMapper.from_torch(state, target=bf16_target, strict=True), "linen"),  # narrower
        (KeyMapper.from_torch(state, target=model, strict=True), "nnx"),
    ]:
        assert_bit_exact(back_silently(variables, state, layout=layout), state)
    variables = KeyMapper.from_torch(state, target=target, strict=True)
    assert_bit_exact(back_silently(variables, state, target=target), state)  # the target given


def test_transformer_stack_trained_in_jax_runs_in_torch_as_in_flax() -> None:
    tm = randomize(TorchEncoder())
    state, ids = tm.state_dict(), torch.randint(0, 50, (2, 7))
    model = NnxEncoder(nnx.Rngs(0))
    load_nnx(model, trained(KeyMapper.from_torch(state, target=model, strict=True)))
    back = back_silently(model, state)  # the NNX model itself
    assert_close(model(ids.numpy()), loaded(tm, back)(ids))
    target = jax.eval_shape(LinenEncoder().init, jax.random.key(0), IDS)
    variables = trained(KeyMapper.from_torch(state, target=target, strict=True), seed=1)
    back = back_silently(variables, state)
    assert_close(LinenEncoder().apply(variables, ids.numpy()), loaded(tm, back)(ids))


# ---------------------------------------------------------------- LSTM / GRU language models
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_lstm_language_model_round_trip_is_bit_exact(dtype: torch.dtype) -> None:
    state = in_dtype(randomize(TorchLM()).state_dict(), dtype)
    target = jax.eval_shape(LinenLM().init, jax.random.key(0), IDS)  # lstm_0, lstm_1
    model = NnxLM(nnx.Rngs(0))  # OptimizedLSTMCell: the gates side by side, one summed bias
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # without a target: Linear or Embedding? said
        plain = KeyMapper.from_torch(state)  # the sum kept in bf16/fp16: rounded
    for variables, layout in [
        (plain, "linen"),
        (KeyMapper.from_torch(state, target=target, strict=True), "linen"),
        (KeyMapper.from_torch(state, target=model, strict=True), "nnx"),
    ]:
        assert_bit_exact(back_silently(variables, state, layout=layout), state)


def test_lstm_language_model_trained_in_jax_runs_in_torch_as_in_flax() -> None:
    tm = randomize(TorchLM())
    state, ids = tm.state_dict(), torch.randint(0, 50, (2, 9))
    target = jax.eval_shape(LinenLM().init, jax.random.key(0), IDS)
    variables = trained(KeyMapper.from_torch(state, target=target, strict=True))
    back, report = KeyMapper.to_torch(variables, state, return_report=True)
    assert not report
    assert [key for key, _ in report.rebuilt] == [f"lstm.bias_ih_l{i}" for i in (0, 1)]
    for i in (0, 1):  # the change went to b_ih; b_hh is like's
        assert torch.equal(back[f"lstm.bias_hh_l{i}"], state[f"lstm.bias_hh_l{i}"])
    assert_close(LinenLM().apply(variables, ids.numpy()), loaded(tm, back)(ids))
    model = NnxLM(nnx.Rngs(0))
    load_nnx(model, trained(KeyMapper.from_torch(state, target=model, strict=True), seed=1))
    assert_close(model(ids.numpy()), loaded(tm, KeyMapper.to_torch(model, state))(ids))


RECURRENT = [(kind, linen, nnx_cell) for kind, linen, nnx_cell in RNNS]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "kind, linen_cell, nnx_cell", RECURRENT, ids=lambda v: getattr(v, "__name__", v)
)
def test_stacked_bidirectional_recurrent_round_trip_is_bit_exact(
    kind, linen_cell, nnx_cell, dtype: torch.dtype
) -> None:
    tm = getattr(torch.nn, kind)(3, 4, 2, batch_first=True, bidirectional=True)
    state = in_dtype(randomize(tm).state_dict(), dtype)
    x = np.zeros((1, 5, 3), np.float32)
    target = jax.eval_shape(LinenRNN(linen_cell, 4, 2, True).init, jax.random.key(0), x)
    model = NnxRNN(nnx_cell, 3, 4, 2, True, nnx.Rngs(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nnx.GRUCell has no b_hn: said by from_torch
        pure = KeyMapper.from_torch(state, target=model)
    for variables, layout in [
        (KeyMapper.from_torch(state, target=target, strict=True), "linen"),
        (pure, "nnx"),
    ]:
        assert_bit_exact(back_silently(variables, state, layout=layout), state)


def test_bidirectional_gru_trained_in_jax_runs_in_torch_as_in_flax() -> None:
    tm = randomize(torch.nn.GRU(3, 4, 2, batch_first=True, bidirectional=True))
    state, x = tm.state_dict(), torch.randn(2, 5, 3)
    flax_gru = LinenRNN(nn.GRUCell, 4, 2, True)
    target = jax.eval_shape(flax_gru.init, jax.random.key(0), x.numpy())
    variables = trained(KeyMapper.from_torch(state, target=target, strict=True))
    back = KeyMapper.to_torch(variables, state)
    assert_close(flax_gru.apply(variables, x.numpy()), loaded(tm, back)(x)[0])


# ---------------------------------------------------------------- GPT-2: Conv1D, tied lm_head
@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_gpt2_round_trip_is_bit_exact_and_the_tied_head_is_the_embedding(dtype) -> None:
    pair = build("gpt2")
    state = in_dtype(pair.state_dict(), dtype)
    params = KeyMapper.from_torch(state, target=pair.target, strict=True)  # transformer/h/0/...
    back, report = KeyMapper.to_torch(params, state, return_report=True)
    assert not report and report.tied == [("lm_head.weight", "transformer.wte.weight")]
    assert_bit_exact(back, state)
    assert back["lm_head.weight"] is back["transformer.wte.weight"]  # one tensor, as in torch


@pytest.mark.slow
def test_gpt2_trained_in_jax_runs_in_torch_as_in_flax() -> None:
    pair = build("gpt2")
    params = trained(KeyMapper.from_torch(pair.state_dict(), target=pair.target, strict=True))
    back = back_silently(params, pair.state_dict())
    inputs = {k: torch.from_numpy(v).long() for k, v in pair.inputs.items()}
    with torch.no_grad():
        logits = loaded(pair.torch_model, back)(**inputs).logits
    assert_close(pair.run_flax(params)["logits"], logits)  # the head is the trained embedding
    assert np.abs(pair.run_flax(params)["logits"] - pair.expected["logits"]).max() > 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_transformers_family_round_trips_bit_for_bit(name: str) -> None:
    pair = build(name)
    params = KeyMapper.from_torch(pair.state_dict(), target=pair.target, strict=True)
    assert_bit_exact(back_silently(params, pair.state_dict()), pair.state_dict())


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_transformers_family_trained_in_jax_runs_in_torch_as_in_flax(name: str) -> None:
    """Except a torch model that ties its head to its embedding when the Flax port does not
    (transformers' FlaxLlamaForCausalLM keeps its own lm_head): torch cannot hold the two
    trained tensors, and to_torch says so."""
    pair = build(name)
    params = trained(KeyMapper.from_torch(pair.state_dict(), target=pair.target, strict=True))
    if name == "llama-tied":
        with pytest.warns(UserWarning, match="lm_head.weight is model.embed_tokens.weight"):
            KeyMapper.to_torch(params, pair.state_dict())
        return
    back = back_silently(params, pair.state_dict())
    inputs = {
        k: torch.from_numpy(v).long() if v.dtype == np.int32 else torch.from_numpy(v)
        for k, v in pair.inputs.items()
    }
    with torch.no_grad():
        out = loaded(pair.torch_model, back)(**inputs)
    for output, got in pair.run_flax(params).items():
        np.testing.assert_allclose(got, getattr(out, output).numpy(), atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- weight norm
def _weight_norm_conv(dim: int) -> torch.nn.Module:
    conv = torch.nn.Conv1d(4, 6, 3, padding=1)
    return randomize(torch.nn.utils.parametrizations.weight_norm(conv, dim=dim))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("dim", [0, 2], ids=["dim0", "dim2"])
def test_weight_norm_round_trip_is_bit_exact(dim: int, dtype: torch.dtype) -> None:
    state = in_dtype(_weight_norm_conv(dim).state_dict(), dtype)
    flax_conv = nn.Conv(6, (3,), padding=[(1, 1)])
    target = jax.eval_shape(flax_conv.init, jax.random.key(0), np.zeros((1, 7, 4), np.float32))
    for variables in (
        KeyMapper.from_torch(state),
        KeyMapper.from_torch(state, target=target, strict=True),
    ):
        assert_bit_exact(back_silently(variables, state), state)


@pytest.mark.parametrize("dim", [0, 2], ids=["dim0", "dim2"])
def test_weight_norm_trained_in_jax_runs_in_torch_as_in_flax(dim: int) -> None:
    conv = _weight_norm_conv(dim)
    state, x = conv.state_dict(), torch.randn(2, 4, 7)
    variables = trained(KeyMapper.from_torch(state))
    back, report = KeyMapper.to_torch(variables, state, return_report=True)
    assert report.rebuilt == [("parametrizations.weight.original0", "trained: g = ||w||, v = w")]
    assert (
        back["parametrizations.weight.original0"].shape
        == state["parametrizations.weight.original0"].shape
    )
    flax_out = nn.Conv(6, (3,), padding=[(1, 1)]).apply(variables, channels_last(x))
    assert_close(flax_out, loaded(conv, back)(x), channels=True)


# ---------------------------------------------------------------- every layer of the table
def _zoo() -> torch.nn.Module:
    """One of each layer the mapping table lists, in the variants that change the mapping."""
    nn_ = torch.nn
    return randomize(
        nn_.ModuleDict(
            {
                "linear": nn_.Linear(7, 5),
                "conv1": nn_.Conv1d(4, 6, 3),
                "conv3": nn_.Conv3d(2, 4, 2, groups=2),
                "depthwise": nn_.Conv2d(6, 6, (3, 1), groups=6, bias=False),
                "up1": nn_.ConvTranspose1d(4, 3, 3, 2),
                "up2": nn_.ConvTranspose2d(4, 6, 3),
                "up3": nn_.ConvTranspose3d(2, 3, 3),
                "bn": nn_.BatchNorm1d(5),
                "ln": nn_.LayerNorm(8),
                "gn": nn_.GroupNorm(3, 6),
                "rms": nn_.RMSNorm(8),
                "embed": nn_.Embedding(11, 4),
                "attn": nn_.MultiheadAttention(8, 2),
                "cross": nn_.MultiheadAttention(8, 2, kdim=5, vdim=6),
                "kv": nn_.MultiheadAttention(8, 2, add_bias_kv=True),  # bias_k: no Flax place
                "lstm": nn_.LSTM(3, 4, 2, bidirectional=True),
                "gru": nn_.GRU(3, 4),
                "rnn": nn_.RNN(3, 4, bias=False),
                "wn": nn_.utils.parametrizations.weight_norm(nn_.Linear(5, 3)),
            }
        )
    )


def _from_torch_quietly(state: dict, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Linear or Embedding? bias_k: said by from_torch
        return KeyMapper.from_torch(state, num_heads=2, **kw)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", ["linen", "nnx"])
def test_every_layer_of_the_table_comes_back_bit_for_bit(layout: str, dtype) -> None:
    state = in_dtype(_zoo().state_dict(), dtype)
    variables = _from_torch_quietly(state, layout=layout)
    back, report = KeyMapper.to_torch(variables, state, layout=layout, return_report=True)
    assert_bit_exact(back, state)
    assert not report and report.kept == ["bn.num_batches_tracked", "kv.bias_k", "kv.bias_v"]


@pytest.mark.parametrize("layout", ["linen", "nnx"])
def test_trained_variables_survive_a_trip_through_torch(layout: str) -> None:
    """from_torch(to_torch(v)) == v: exactly where from_torch's step has an inverse, within fp32
    rounding for the rebuilt RNN sums and weight norm."""
    state = _zoo().state_dict()
    variables = trained(_from_torch_quietly(state, layout=layout))
    again = _from_torch_quietly(KeyMapper.to_torch(variables, state, layout=layout), layout=layout)
    flat = dict(jax.tree_util.tree_leaves_with_path(variables))
    flat_again = dict(jax.tree_util.tree_leaves_with_path(again))
    assert flat.keys() == flat_again.keys()
    rebuilt = ("lstm", "gru", "rnn", "wn")
    for path, leaf in flat.items():
        if str(path[0 if layout == "nnx" else 1].key) in rebuilt:
            np.testing.assert_allclose(flat_again[path], leaf, rtol=1e-6, atol=1e-6)
        else:
            assert np.array_equal(flat_again[path], leaf), jax.tree_util.keystr(path)


# ---------------------------------------------------------------- a plan as `like`
def test_a_plan_gives_every_value_it_holds_back_bit_for_bit() -> None:
    state = randomize(TorchEncoder()).state_dict()
    plan = KeyMapper.plan(state, target=NnxEncoder(nnx.Rngs(0)))
    assert_bit_exact(back_silently(plan.execute(), plan), state, ordered=False)  # the tree's


def test_a_plan_has_no_b_ih_b_hh_pair_the_sum_goes_to_b_ih_and_that_is_said() -> None:
    tm = randomize(TorchLM())
    ids = torch.randint(0, 50, (2, 9))
    plan = KeyMapper.plan(tm.state_dict(), target=NnxLM(nnx.Rngs(0)))
    with pytest.warns(UserWarning, match="lstm.bias_ih_l0: guessed.*lstm.bias_hh_l0 is zeros"):
        back = KeyMapper.to_torch(plan.execute(), plan)
    assert not back["lstm.bias_hh_l1"].any()
    assert_close(loaded(tm, back)(ids).detach(), tm(ids))  # the same model, other biases


def test_a_plan_has_no_weight_norm_g_shape_torchs_default_dim_is_assumed_and_said() -> None:
    conv = _weight_norm_conv(0)
    x = torch.randn(2, 4, 7)
    plan = KeyMapper.plan(conv.state_dict())
    with pytest.warns(UserWarning, match="original0: guessed: g = .*default dim=0"):
        back = KeyMapper.to_torch(plan.execute(), plan)
    assert_close(loaded(conv, back)(x).detach(), conv(x))


def test_a_plan_has_no_batchnorm_counters_they_are_missing() -> None:
    state = randomize(TorchResNet()).state_dict()
    plan = KeyMapper.plan(state)
    with pytest.warns(UserWarning, match="missing"):
        back, report = KeyMapper.to_torch(plan.execute(), plan, return_report=True)
    counters = [k for k in state if k.endswith("num_batches_tracked")]
    assert report.missing_keys == [f"{k} (no value: a plan holds none)" for k in counters]
    assert set(back) == set(state) - set(counters)
    with pytest.raises(ValueError, match="bn.num_batches_tracked"):
        KeyMapper.to_torch(plan.execute(), plan, strict=True)


# ---------------------------------------------------------------- loud
def test_a_flax_leaf_torch_has_no_place_for_is_unexpected() -> None:
    state = randomize(torch.nn.Linear(3, 2)).state_dict()
    variables = KeyMapper.from_torch(state)
    variables["params"]["extra"] = {"kernel": jnp.ones((2, 2))}
    with pytest.warns(UserWarning, match="unexpected.*params/extra/kernel"):
        back, report = KeyMapper.to_torch(variables, state, return_report=True)
    assert report.unexpected_keys == ["params/extra/kernel"]
    assert_bit_exact(back, state)
    with pytest.raises(ValueError, match="params/extra/kernel"):
        KeyMapper.to_torch(variables, state, strict=True)


def test_tied_torch_tensors_whose_flax_leaves_diverged_are_said_to_be() -> None:
    class TiedLM(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(11, 4)
            self.head = torch.nn.Linear(4, 11, bias=False)
            self.head.weight = self.embed.weight

    state = randomize(TiedLM()).state_dict()
    variables = _from_torch_quietly(state)  # no target: the head gets a kernel of its own
    back_silently(variables, state)  # unchanged: still one tensor's values
    with pytest.warns(UserWarning, match="head.weight is embed.weight in `like` .*keeps only one"):
        KeyMapper.to_torch(trained(variables), state)


def test_a_bias_trained_where_torch_has_none_is_unexpected() -> None:
    state = randomize(torch.nn.RNN(3, 4, bias=False)).state_dict()
    variables = KeyMapper.from_torch(state)  # Flax's cell has a bias: zeros
    back_silently(variables, state)
    (path,) = [entry.path for entry in KeyMapper.plan(state).entries if not entry.key]
    variables[path[0]][path[1]][path[2]][path[3]] = jnp.full((4,), 0.5)
    with pytest.warns(UserWarning, match="torch has no bias there"):
        _, report = KeyMapper.to_torch(variables, state, return_report=True)
    assert report.unexpected_keys == [f"{'/'.join(path)} (torch has no bias there)"]


def test_a_flax_leaf_of_another_shape_than_the_plan_is_a_mismatch() -> None:
    state = randomize(torch.nn.Linear(3, 2)).state_dict()
    plan = KeyMapper.plan(state)
    variables = plan.execute()
    variables["params"]["kernel"] = jnp.ones((3, 5))
    with pytest.raises(ValueError, match=r"weight -> params/kernel: \(3, 5\) vs target \(3, 2\)"):
        KeyMapper.to_torch(variables, plan, strict=True)


def test_a_flax_tree_lacking_a_planned_leaf_says_so_and_keeps_likes_value() -> None:
    state = randomize(torch.nn.Linear(3, 2)).state_dict()
    target = jax.eval_shape(nn.Dense(2).init, jax.random.key(0), np.zeros((1, 3), np.float32))
    variables = KeyMapper.from_torch(state, target=target)
    del variables["params"]["bias"]
    with pytest.warns(UserWarning, match=r"missing \(1\): bias \(nothing at params/bias\)"):
        back, report = KeyMapper.to_torch(variables, state, target=target, return_report=True)
    assert report.kept == ["bias"] and torch.equal(back["bias"], state["bias"])


# ---------------------------------------------------------------- arrays as they come
def test_like_may_be_a_checkpoint_file_or_the_torch_model_itself(tmp_path) -> None:
    from safetensors.torch import save_file

    tm = randomize(TorchLM())
    state = tm.state_dict()
    variables = KeyMapper.from_torch(state, target=NnxLM(nnx.Rngs(0)))
    save_file(state, tmp_path / "model.safetensors")
    torch.save(state, tmp_path / "model.pt")
    for like in (tmp_path / "model.safetensors", tmp_path / "model.pt", tm):
        back = back_silently(variables, like, layout="nnx")
        # (a safetensors file lists its tensors sorted by name)
        assert_bit_exact(back, state, ordered=not str(like).endswith(".safetensors"))


def test_integer_keys_restored_as_strings_by_orbax_still_find_their_leaves() -> None:
    state = randomize(TorchResNet()).state_dict()
    plan = KeyMapper.plan(state, target=NnxResNet(nnx.Rngs(0)))  # layer1/0/..., layers/0/...

    def strings(tree):
        return {str(k): strings(v) if isinstance(v, dict) else v for k, v in tree.items()}

    restored = strings(plan.execute())
    assert "0" in restored["layer1"]
    back = back_silently(restored, state, layout="nnx")  # planned against the tree as it is
    assert_bit_exact(back, state)
    with pytest.warns(UserWarning, match="missing"):  # the plan's paths (counters: no values)
        back = KeyMapper.to_torch(restored, plan)
    counters = {k for k in state if k.endswith("num_batches_tracked")}
    assert_bit_exact(back, {k: v for k, v in state.items() if k not in counters}, ordered=False)


def test_without_torch_the_state_dict_is_numpy_arrays(monkeypatch) -> None:
    import ml_dtypes

    state = {k: v.numpy() for k, v in randomize(TorchLM()).state_dict().items()}
    state["decoder.weight"] = state["decoder.weight"].astype(ml_dtypes.bfloat16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # without a target: Linear or Embedding? said
        variables = KeyMapper.from_torch(state)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails
    back = back_silently(variables, state)
    assert list(back) == list(state)
    for key, expected in state.items():
        assert type(back[key]) is np.ndarray and back[key].dtype == expected.dtype, key
        assert back[key].tobytes() == expected.tobytes(), key


SHARDED = """
import os, jax, numpy as np, torch
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from switcheroo_lsp.runtime import KeyMapper
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Embedding(16, 8), torch.nn.Linear(8, 16))
state = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
variables = KeyMapper.from_torch(state, layout="nnx")
mesh = Mesh(np.array(jax.devices()), ("x",))
sharded = jax.tree.map(lambda a: jax.device_put(a, NamedSharding(mesh, P("x"))), variables)
assert len(jax.tree.leaves(sharded)[0].sharding.device_set) == 8
back = KeyMapper.to_torch(sharded, state, layout="nnx")
assert list(back) == list(state) and all(torch.equal(back[k], state[k]) for k in state)
print("ok")
"""


def test_sharded_variables_come_back_whole() -> None:
    env = {**__import__("os").environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    done = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.strip().endswith("ok"), done.stderr


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2], ids=str)
def test_fp8_comes_back_bit_for_bit(dtype: torch.dtype) -> None:
    state = in_dtype(randomize(torch.nn.Linear(4, 3)).state_dict(), dtype)
    assert_bit_exact(back_silently(KeyMapper.from_torch(state), state), state)
