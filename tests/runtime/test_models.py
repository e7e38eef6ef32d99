"""Whole models: a ResNet-style CNN, a TransformerEncoderLayer stack with embeddings and an LSTM
language model, converted in one call and run in Flax (linen and NNX) against torch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import linen as nn
from flax import nnx
from torch_oracle import assert_close, channels_last, load_nnx, randomize

from switcheroo_lsp.runtime import KeyMapper


# ---------------------------------------------------------------- ResNet-style CNN
class TorchBlock(torch.nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)
        self.downsample = (
            torch.nn.Sequential(
                torch.nn.Conv2d(cin, cout, 1, stride, bias=False), torch.nn.BatchNorm2d(cout)
            )
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class TorchResNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn = torch.nn.BatchNorm2d(8)
        self.layer1 = torch.nn.Sequential(TorchBlock(8, 8, 1), TorchBlock(8, 16, 2))
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        return self.fc(self.layer1(x).mean((2, 3)))


class LinenBlock(nn.Module):
    cout: int
    stride: int
    project: bool

    @nn.compact
    def __call__(self, x):
        bn = lambda name: nn.BatchNorm(use_running_average=True, epsilon=1e-5, name=name)  # noqa: E731

        def conv(k, s, name):
            pad = [(k // 2, k // 2)] * 2
            return nn.Conv(self.cout, (k, k), s, padding=pad, use_bias=False, name=name)

        y = nn.relu(bn("bn1")(conv(3, self.stride, "conv1")(x)))
        y = bn("bn2")(conv(3, 1, "conv2")(y))
        if self.project:
            x = bn("downsample_1")(conv(1, self.stride, "downsample_0")(x))  # torch downsample.0/.1
        return nn.relu(y + x)


class LinenResNet(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Conv(8, (3, 3), padding=[(1, 1)] * 2, use_bias=False, name="stem")(x)
        x = nn.relu(nn.BatchNorm(use_running_average=True, epsilon=1e-5, name="bn")(x))
        x = LinenBlock(8, 1, False, name="layer1_0")(x)
        x = LinenBlock(16, 2, True, name="layer1_1")(x)
        return nn.Dense(10, name="fc")(x.mean((1, 2)))


class NnxBlock(nnx.Module):
    def __init__(self, cin: int, cout: int, stride: int, rngs: nnx.Rngs) -> None:
        def conv(i, k, s):
            pad = [(k // 2, k // 2)] * 2
            return nnx.Conv(i, cout, (k, k), s, padding=pad, use_bias=False, rngs=rngs)

        bn = lambda: nnx.BatchNorm(cout, use_running_average=True, epsilon=1e-5, rngs=rngs)  # noqa: E731
        self.conv1, self.bn1, self.conv2, self.bn2 = (
            conv(cin, 3, stride),
            bn(),
            conv(cout, 3, 1),
            bn(),
        )
        self.downsample = (
            nnx.Sequential(conv(cin, 1, stride), bn()) if stride != 1 or cin != cout else None
        )

    def __call__(self, x):
        y = self.bn2(self.conv2(nnx.relu(self.bn1(self.conv1(x)))))
        return nnx.relu(y + (self.downsample(x) if self.downsample is not None else x))


class NnxResNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.stem = nnx.Conv(3, 8, (3, 3), padding=[(1, 1)] * 2, use_bias=False, rngs=rngs)
        self.bn = nnx.BatchNorm(8, use_running_average=True, epsilon=1e-5, rngs=rngs)
        self.layer1 = nnx.List([NnxBlock(8, 8, 1, rngs), NnxBlock(8, 16, 2, rngs)])
        self.fc = nnx.Linear(16, 10, rngs=rngs)

    def __call__(self, x):
        x = nnx.relu(self.bn(self.stem(x)))
        for block in self.layer1:
            x = block(x)
        return self.fc(x.mean((1, 2)))


def test_resnet_linen_and_nnx() -> None:
    tm = randomize(TorchResNet())
    x = torch.randn(2, 3, 8, 8)
    expected, xf = tm(x), channels_last(x)
    sd = tm.state_dict()
    variables = KeyMapper.from_torch(sd)  # names line up with the linen modules: no target needed
    assert_close(LinenResNet().apply(variables, xf), expected)
    target = jax.eval_shape(LinenResNet().init, jax.random.key(0), xf)
    variables, report = KeyMapper.from_torch(sd, target=target, strict=True, return_report=True)
    assert not report and not report.renamed
    assert report.dropped == [k for k in sd if k.endswith("num_batches_tracked")]
    assert_close(LinenResNet().apply(variables, xf), expected)
    model = NnxResNet(
        nnx.Rngs(0)
    )  # nnx.Sequential keeps its layers under `layers`: the target knows
    pure, report = KeyMapper.from_torch(sd, target=model, strict=True, return_report=True)
    assert_close(load_nnx(model, pure)(xf), expected)
    assert report.renamed == [("layer1.1.downsample.0", "layer1/1/downsample/layers/0"),
                              ("layer1.1.downsample.1", "layer1/1/downsample/layers/1")]  # fmt: skip


# ---------------------------------------------------------------- Transformer encoder
D, HEADS, FF, VOCAB, LAYERS = 16, 4, 32, 50, 2


class TorchEncoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, D)
        self.pos = torch.nn.Embedding(12, D)
        layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.head = torch.nn.Linear(D, VOCAB)

    def forward(self, ids):
        x = self.embed(ids) + self.pos(torch.arange(ids.shape[1]))
        return self.head(self.encoder(x))


class LinenEncoderLayer(nn.Module):
    @nn.compact
    def __call__(self, x):
        ln = lambda name: nn.LayerNorm(epsilon=1e-5, name=name)  # noqa: E731
        x = ln("norm1")(x + nn.MultiHeadDotProductAttention(HEADS, name="self_attn")(x))
        y = nn.Dense(D, name="linear2")(nn.relu(nn.Dense(FF, name="linear1")(x)))
        return ln("norm2")(x + y)


class LinenEncoder(nn.Module):
    @nn.compact
    def __call__(self, ids):
        x = nn.Embed(VOCAB, D, name="embed")(ids) + nn.Embed(12, D, name="pos")(
            jnp.arange(ids.shape[1])
        )
        for i in range(LAYERS):
            x = LinenEncoderLayer(name=f"layer_{i}")(x)  # named differently from torch on purpose
        return nn.Dense(VOCAB, name="head")(x)


class NnxEncoderLayer(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.self_attn = nnx.MultiHeadAttention(HEADS, D, decode=False, rngs=rngs)
        self.linear1, self.linear2 = nnx.Linear(D, FF, rngs=rngs), nnx.Linear(FF, D, rngs=rngs)
        self.norm1 = nnx.LayerNorm(D, epsilon=1e-5, rngs=rngs)
        self.norm2 = nnx.LayerNorm(D, epsilon=1e-5, rngs=rngs)

    def __call__(self, x):
        x = self.norm1(x + self.self_attn(x))
        return self.norm2(x + self.linear2(nnx.relu(self.linear1(x))))


class NnxEncoder(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.embed, self.pos = nnx.Embed(VOCAB, D, rngs=rngs), nnx.Embed(12, D, rngs=rngs)
        self.encoder = nnx.Module()
        self.encoder.layers = nnx.List([NnxEncoderLayer(rngs) for _ in range(LAYERS)])
        self.head = nnx.Linear(D, VOCAB, rngs=rngs)

    def __call__(self, ids):
        x = self.embed(ids) + self.pos(jnp.arange(ids.shape[1]))
        for layer in self.encoder.layers:
            x = layer(x)
        return self.head(x)


def test_transformer_encoder_linen_and_nnx() -> None:
    tm = randomize(TorchEncoder())
    ids = torch.randint(0, VOCAB, (2, 7))
    expected, sd = tm(ids), tm.state_dict()
    target = jax.eval_shape(LinenEncoder().init, jax.random.key(0), ids.numpy())
    variables, report = KeyMapper.from_torch(sd, target=target, strict=True, return_report=True)
    assert sorted(report.renamed) == [(f"encoder.layers.{i}.{m}", f"layer_{i}/{m}")
                                      for i in range(LAYERS) for m in ("linear1", "linear2", "norm1", "norm2", "self_attn")]  # fmt: skip
    assert_close(LinenEncoder().apply(variables, ids.numpy()), expected)
    model = NnxEncoder(nnx.Rngs(0))
    assert_close(
        load_nnx(model, KeyMapper.from_torch(sd, target=model, strict=True))(ids.numpy()), expected
    )
    with pytest.warns(UserWarning, match="embed.weight .*pos.weight"):  # without a target: said
        KeyMapper.from_torch(sd, layout="nnx", num_heads=HEADS)


# ---------------------------------------------------------------- LSTM language model
class TorchLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, 8)
        self.lstm = torch.nn.LSTM(8, 12, num_layers=2, batch_first=True)
        self.decoder = torch.nn.Linear(12, VOCAB)

    def forward(self, ids):
        return self.decoder(self.lstm(self.embedding(ids))[0])


class LinenLM(nn.Module):
    def setup(self) -> None:
        self.embedding = nn.Embed(VOCAB, 8)
        self.lstm = [nn.RNN(nn.OptimizedLSTMCell(12)) for _ in range(2)]
        self.decoder = nn.Dense(VOCAB)

    def __call__(self, ids):
        x = self.embedding(ids)
        for rnn in self.lstm:
            x = rnn(x)
        return self.decoder(x)


class NnxLM(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.embedding = nnx.Embed(VOCAB, 8, rngs=rngs)
        self.lstm = nnx.List([nnx.RNN(nnx.OptimizedLSTMCell(i, 12, rngs=rngs)) for i in (8, 12)])
        self.decoder = nnx.Linear(12, VOCAB, rngs=rngs)

    def __call__(self, ids):
        x = self.embedding(ids)
        for rnn in self.lstm:
            x = rnn(x)
        return self.decoder(x)


def test_lstm_language_model_linen_and_nnx() -> None:
    tm = randomize(TorchLM())
    ids = torch.randint(0, VOCAB, (2, 9))
    expected, sd = tm(ids), tm.state_dict()
    target = jax.eval_shape(LinenLM().init, jax.random.key(0), ids.numpy())
    variables = KeyMapper.from_torch(sd, target=target, strict=True)
    assert_close(LinenLM().apply(variables, ids.numpy()), expected)
    model = NnxLM(nnx.Rngs(0))
    assert_close(
        load_nnx(model, KeyMapper.from_torch(sd, target=model, strict=True))(ids.numpy()), expected
    )
    assert np.asarray(variables["params"]["embedding"]["embedding"]).shape == (VOCAB, 8)
