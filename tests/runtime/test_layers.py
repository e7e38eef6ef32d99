"""Every supported torch layer: random torch weights -> KeyMapper.from_torch -> the equivalent Flax
module (linen and NNX) -> the same outputs as torch within 1e-5."""

import warnings

import jax
import numpy as np
import pytest
import torch
from flax import linen as nn
from flax import nnx
from torch_oracle import assert_close, channels_last, load_nnx, randomize

from switcheroo_lsp.runtime import KeyMapper

RNGS = nnx.Rngs(0)


def run_linen(module: nn.Module, torch_module: torch.nn.Module, *inputs: np.ndarray, **kw):
    """Convert without a target and apply the linen module."""
    variables = KeyMapper.from_torch(torch_module.state_dict(), **kw)
    return module.apply(variables, *inputs)


def run_linen_target(module: nn.Module, torch_module: torch.nn.Module, *inputs: np.ndarray):
    """Convert against jax.eval_shape(module.init, ...) and apply; the report must be clean."""
    target = jax.eval_shape(module.init, jax.random.key(0), *inputs)
    variables, report = KeyMapper.from_torch(
        torch_module.state_dict(), target=target, return_report=True
    )
    assert not report, report
    assert jax.tree.structure(variables) == jax.tree.structure(target)
    return module.apply(variables, *inputs)


def run_nnx(model: nnx.Module, torch_module: torch.nn.Module, *inputs: np.ndarray, target=False):
    """Convert (layout nnx, or against the model itself) and call the NNX model."""
    state = torch_module.state_dict()
    pure = (
        KeyMapper.from_torch(state, target=model)
        if target
        else KeyMapper.from_torch(state, layout="nnx")
    )
    return load_nnx(model, pure)(*inputs)


# ---------------------------------------------------------------- Linear
@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias: bool) -> None:
    tm = randomize(torch.nn.Linear(7, 5, bias=bias))
    x = torch.randn(3, 7)
    expected = tm(x)
    assert_close(run_linen_target(nn.Dense(5, use_bias=bias), tm, x.numpy()), expected)
    assert_close(
        run_nnx(nnx.Linear(7, 5, use_bias=bias, rngs=RNGS), tm, x.numpy(), target=True), expected
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_close(run_linen(nn.Dense(5, use_bias=bias), tm, x.numpy()), expected)
        assert_close(run_nnx(nnx.Linear(7, 5, use_bias=bias, rngs=RNGS), tm, x.numpy()), expected)
    # without a target a bias-free 2-D weight is ambiguous (Linear or Embedding): said, once per call
    assert [str(w.message).count("Linear or Embedding") for w in caught] == ([] if bias else [1, 1])


# ---------------------------------------------------------------- Conv
CONVS = [
    # (dims, in, out, kernel, stride, padding, dilation, groups, bias)
    (1, 4, 6, 3, 1, 1, 1, 1, True),
    (1, 4, 6, 5, 2, 2, 2, 2, False),
    (2, 4, 6, 3, 1, 1, 1, 1, True),
    (2, 4, 8, 3, 2, 0, 1, 2, True),
    (2, 6, 6, 3, 1, 1, 1, 6, False),  # depthwise
    (2, 3, 5, (3, 1), 1, 0, 1, 1, True),  # non-square kernel
    (3, 2, 4, 3, 1, 1, 1, 1, True),
    (3, 4, 4, 2, 2, 0, 1, 4, True),  # depthwise 3-D
]


def _tup(v, dims):
    return tuple(v) if isinstance(v, tuple) else (v,) * dims


@pytest.mark.parametrize("case", CONVS, ids=lambda c: f"conv{c[0]}d-g{c[7]}-k{c[3]}")
def test_conv(case) -> None:
    dims, cin, cout, k, stride, pad, dil, groups, bias = case
    tm = randomize(
        getattr(torch.nn, f"Conv{dims}d")(cin, cout, k, stride, pad, dil, groups, bias=bias)
    )
    x = torch.randn(2, cin, *(7,) * dims)
    expected, xf = tm(x), channels_last(x)
    flax_kw = dict(
        kernel_size=_tup(k, dims),
        strides=stride,
        padding=[(pad, pad)] * dims,
        kernel_dilation=dil,
        feature_group_count=groups,
        use_bias=bias,
    )
    assert_close(run_linen(nn.Conv(cout, **flax_kw), tm, xf), expected, channels=True)
    assert_close(run_linen_target(nn.Conv(cout, **flax_kw), tm, xf), expected, channels=True)
    model = nnx.Conv(cin, cout, rngs=RNGS, **flax_kw)
    assert_close(run_nnx(model, tm, xf), expected, channels=True)


TRANSPOSED = [
    # (dims, in, out, kernel, stride, padding, output_padding, groups)
    (1, 4, 3, 3, 2, 1, 1, 1),
    (2, 4, 6, 3, 2, 1, 1, 1),
    (2, 3, 5, 4, 1, 0, 0, 1),
    (3, 2, 3, 3, 2, 1, 0, 1),
]


@pytest.mark.parametrize("case", TRANSPOSED, ids=lambda c: f"convT{c[0]}d-k{c[3]}-s{c[4]}")
def test_conv_transpose(case) -> None:
    dims, cin, cout, k, stride, pad, out_pad, groups = case
    tm = randomize(
        getattr(torch.nn, f"ConvTranspose{dims}d")(cin, cout, k, stride, pad, out_pad, groups)
    )
    x = torch.randn(2, cin, *(5,) * dims)
    expected, xf = tm(x), channels_last(x)
    flax_kw = dict(
        kernel_size=(k,) * dims,
        strides=(stride,) * dims,
        padding=[(k - 1 - pad, k - 1 - pad + out_pad)] * dims,
        transpose_kernel=True,
    )
    assert_close(run_linen(nn.ConvTranspose(cout, **flax_kw), tm, xf), expected, channels=True)
    assert_close(
        run_linen_target(nn.ConvTranspose(cout, **flax_kw), tm, xf), expected, channels=True
    )
    model = nnx.ConvTranspose(cin, cout, rngs=RNGS, **flax_kw)
    assert_close(run_nnx(model, tm, xf), expected, channels=True)


# ---------------------------------------------------------------- norms
@pytest.mark.parametrize(
    "torch_cls, shape",
    [
        (torch.nn.BatchNorm1d, (4, 6)),
        (torch.nn.BatchNorm1d, (4, 6, 5)),
        (torch.nn.BatchNorm2d, (2, 6, 4, 4)),
        (torch.nn.BatchNorm3d, (2, 6, 3, 3, 3)),
    ],
    ids=["bn1d-2d-input", "bn1d-3d-input", "bn2d", "bn3d"],
)
def test_batch_norm(torch_cls, shape) -> None:
    tm = randomize(torch_cls(6))
    x = torch.randn(*shape)
    expected, xf = tm(x), channels_last(x)
    variables = KeyMapper.from_torch(tm.state_dict())
    assert set(variables) == {"params", "batch_stats"}
    assert set(variables["batch_stats"]) == {"mean", "var"}
    flax_bn = nn.BatchNorm(use_running_average=True, epsilon=1e-5)
    assert_close(flax_bn.apply(variables, xf), expected, channels=True)
    assert_close(run_linen_target(flax_bn, tm, xf), expected, channels=True)
    model = nnx.BatchNorm(6, use_running_average=True, epsilon=1e-5, rngs=RNGS)
    assert_close(run_nnx(model, tm, xf), expected, channels=True)


def test_layer_norm() -> None:
    tm = randomize(torch.nn.LayerNorm(8))
    x = torch.randn(3, 4, 8)
    expected = tm(x)
    assert_close(run_linen(nn.LayerNorm(epsilon=1e-5), tm, x.numpy()), expected)
    assert_close(run_nnx(nnx.LayerNorm(8, epsilon=1e-5, rngs=RNGS), tm, x.numpy()), expected)


def test_layer_norm_over_two_axes_is_a_norm_not_a_linear() -> None:
    tm = randomize(torch.nn.LayerNorm((4, 8)))
    x = torch.randn(3, 4, 8)
    flax_ln = nn.LayerNorm(epsilon=1e-5, reduction_axes=(-2, -1), feature_axes=(-2, -1))
    assert_close(run_linen(flax_ln, tm, x.numpy()), tm(x))


def test_group_norm() -> None:
    tm = randomize(torch.nn.GroupNorm(3, 6))
    x = torch.randn(2, 6, 4, 4)
    expected, xf = tm(x), channels_last(x)
    assert_close(
        run_linen(nn.GroupNorm(num_groups=3, epsilon=1e-5), tm, xf), expected, channels=True
    )
    model = nnx.GroupNorm(6, num_groups=3, epsilon=1e-5, rngs=RNGS)
    assert_close(run_nnx(model, tm, xf), expected, channels=True)


# ---------------------------------------------------------------- Embedding
def test_embedding_is_never_transposed() -> None:
    tm = randomize(torch.nn.Embedding(11, 4))
    ids = torch.tensor([[1, 5, 10], [0, 3, 3]])
    expected = tm(ids)
    assert_close(run_linen_target(nn.Embed(11, 4), tm, ids.numpy()), expected)
    assert_close(run_nnx(nnx.Embed(11, 4, rngs=RNGS), tm, ids.numpy(), target=True), expected)


def test_embedding_without_target_is_reported_as_ambiguous() -> None:
    tm = randomize(torch.nn.Embedding(11, 4))
    with pytest.warns(UserWarning, match="Linear or Embedding"):
        _, report = KeyMapper.from_torch(tm.state_dict(), return_report=True)
    assert report.ambiguous and "weight" in report.ambiguous[0]


# ---------------------------------------------------------------- attention
def _mha_pair(kdim=None, vdim=None, bias=True):
    tm = randomize(
        torch.nn.MultiheadAttention(8, 2, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
    )
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 4, kdim or 8), torch.randn(2, 4, vdim or 8)
    expected = tm(q, k, v, need_weights=False)[0]
    return tm, (q.numpy(), k.numpy(), v.numpy()), expected


@pytest.mark.parametrize(
    "kdim, vdim, bias", [(None, None, True), (5, 6, True), (None, None, False)]
)
def test_multihead_attention(kdim, vdim, bias) -> None:
    tm, inputs, expected = _mha_pair(kdim, vdim, bias)
    flax_mha = nn.MultiHeadDotProductAttention(
        num_heads=2, qkv_features=8, out_features=8, use_bias=bias
    )
    assert_close(run_linen_target(flax_mha, tm, *inputs), expected)
    assert_close(run_linen(flax_mha, tm, *inputs, num_heads=2), expected)
    model = (
        nnx.MultiHeadAttention(
            2, 8, 8, 8, in_kv_features=None, use_bias=bias, decode=False, rngs=RNGS
        )
        if kdim is None
        else None
    )
    if model is not None:
        assert_close(run_nnx(model, tm, *inputs, target=True), expected)


# ---------------------------------------------------------------- recurrent
class LinenRNN(nn.Module):
    """torch.nn.LSTM/GRU/RNN(batch_first=True) in linen: stacked, optionally bidirectional."""

    cell: type
    hidden: int
    num_layers: int
    bidirectional: bool

    def setup(self) -> None:
        def make():
            rnn = lambda: nn.RNN(self.cell(self.hidden))  # noqa: E731
            return nn.Bidirectional(rnn(), rnn()) if self.bidirectional else rnn()

        if self.num_layers > 1:
            self.layers = [make() for _ in range(self.num_layers)]
        else:
            self.only = make()

    def __call__(self, x):
        for layer in self.layers if self.num_layers > 1 else [self.only]:
            x = layer(x)
        return x


class NnxRNN(nnx.Module):
    """The same in NNX."""

    def __init__(self, cell, inp, hidden, num_layers, bidirectional, rngs):
        def make(i):
            rnn = lambda: nnx.RNN(cell(i, hidden, rngs=rngs))  # noqa: E731
            return nnx.Bidirectional(rnn(), rnn(), rngs=rngs) if bidirectional else rnn()

        width = hidden * (2 if bidirectional else 1)
        self.layers = nnx.List([make(inp if n == 0 else width) for n in range(num_layers)])

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


RNNS = [
    ("LSTM", nn.LSTMCell, nnx.LSTMCell),
    ("LSTM", nn.OptimizedLSTMCell, nnx.OptimizedLSTMCell),
    ("GRU", nn.GRUCell, nnx.GRUCell),
    ("RNN", nn.SimpleCell, nnx.SimpleCell),
]


@pytest.mark.parametrize(
    "num_layers, bidirectional", [(1, False), (2, False), (1, True), (2, True)]
)
@pytest.mark.parametrize(
    "kind, linen_cell, nnx_cell", RNNS, ids=lambda v: getattr(v, "__name__", v)
)
def test_recurrent(kind, linen_cell, nnx_cell, num_layers, bidirectional) -> None:
    tm = randomize(
        getattr(torch.nn, kind)(3, 4, num_layers, batch_first=True, bidirectional=bidirectional)
    )
    x = torch.randn(2, 5, 3)
    expected = tm(x)[0]
    linen_model = LinenRNN(linen_cell, 4, num_layers, bidirectional)
    assert_close(run_linen_target(linen_model, tm, x.numpy()), expected)
    if num_layers == 1 and not bidirectional:  # default naming: nn.RNN(cell) at the top
        assert_close(run_linen(nn.RNN(linen_cell(4)), tm, x.numpy()), expected)
    if kind == "GRU":  # nnx.GRUCell has no hidden bias for the n gate: torch's must be zero
        with torch.no_grad():
            for name, p in tm.named_parameters():
                if name.startswith("bias_hh"):
                    p[8:].zero_()
        expected = tm(x)[0]
    model = NnxRNN(nnx_cell, 3, 4, num_layers, bidirectional, RNGS)
    assert_close(run_nnx(model, tm, x.numpy(), target=True), expected)


def test_gru_hidden_n_bias_that_nnx_cannot_hold_is_reported() -> None:
    tm = randomize(torch.nn.GRU(3, 4, batch_first=True))
    with pytest.warns(UserWarning, match="bias_hh_l0"):
        _, report = KeyMapper.from_torch(tm.state_dict(), layout="nnx", return_report=True)
    assert any("bias_hh_l0" in k for k in report.unexpected_keys)


def test_recurrent_without_bias_gets_zero_flax_biases() -> None:
    tm = randomize(torch.nn.LSTM(3, 4, batch_first=True, bias=False))
    x = torch.randn(2, 5, 3)
    assert_close(run_linen(nn.RNN(nn.LSTMCell(4)), tm, x.numpy()), tm(x)[0])
