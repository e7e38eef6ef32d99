"""Plain torch.nn models and the Flax ports a user writes for them: linen `@nn.compact` modules
(children auto-named per type in call order: Dense_0, Conv_1, BatchNorm_2...) and NNX modules.

Layer shapes repeat on purpose, so that a wrong placement still fits every shape and only the
outputs can tell it. torch's state dict lists modules in registration order; where that differs
from the order the forward pass calls them (OuterFirstResBlock), only shapes or a refusal are
right. `convert_or_refuse` is the bar: exact, or a ValueError that names the ambiguity."""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from flax import linen as nn
from flax import nnx
from random_weights import randomize_scaled
from torch_oracle import ATOL, load_nnx
from transformers.pytorch_utils import Conv1D

from switcheroo_lsp.runtime import KeyMapper

WIDTH = 16


# ---------------------------------------------------------------- MobileNet-like CNN
class TorchDepthwiseSeparable(torch.nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.dw = torch.nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cin)
        self.pw = torch.nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.dw(x)))
        return torch.relu(self.bn2(self.pw(x)))


BLOCKS = ((16, 1), (16, 1), (16, 1), (32, 2), (32, 1))  # (out channels, stride): shapes repeat


class TorchMobileNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, 2, 1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU()
        )
        cins = [16] + [cout for cout, _ in BLOCKS[:-1]]
        self.blocks = torch.nn.Sequential(
            *(
                TorchDepthwiseSeparable(cin, cout, s)
                for cin, (cout, s) in zip(cins, BLOCKS, strict=True)
            )
        )
        self.head = torch.nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class LinenDepthwiseSeparable(nn.Module):
    features: int
    stride: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cin = x.shape[-1]
        x = nn.Conv(cin, (3, 3), self.stride, padding=1, feature_group_count=cin, use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=True)(x))
        x = nn.Conv(self.features, (1, 1), use_bias=False)(x)
        return nn.relu(nn.BatchNorm(use_running_average=True)(x))


class LinenMobileNet(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Conv(16, (3, 3), 2, padding=1, use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=True)(x))
        for features, stride in BLOCKS:
            x = LinenDepthwiseSeparable(features, stride)(x)
        return nn.Dense(10)(x.mean((1, 2)))


class LinenFlatMobileNet(nn.Module):
    """The same network in one compact method: Conv_0 ... Conv_10 and BatchNorm_0 ... BatchNorm_10
    count across the torch blocks (blocks.1.bn1 is BatchNorm_3), Conv_10 sorts before Conv_2."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Conv(16, (3, 3), 2, padding=1, use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=True)(x))
        for features, stride in BLOCKS:
            cin = x.shape[-1]
            x = nn.Conv(cin, (3, 3), stride, padding=1, feature_group_count=cin, use_bias=False)(x)
            x = nn.relu(nn.BatchNorm(use_running_average=True)(x))
            x = nn.Conv(features, (1, 1), use_bias=False)(x)
            x = nn.relu(nn.BatchNorm(use_running_average=True)(x))
        return nn.Dense(10)(x.mean((1, 2)))


class NnxDepthwiseSeparable(nnx.Module):
    def __init__(self, cin: int, cout: int, stride: int, rngs: nnx.Rngs) -> None:
        self.depthwise = nnx.Conv(
            cin, cin, (3, 3), stride, padding=1, feature_group_count=cin, use_bias=False, rngs=rngs
        )
        self.depthwise_norm = nnx.BatchNorm(cin, use_running_average=True, rngs=rngs)
        self.pointwise = nnx.Conv(cin, cout, (1, 1), use_bias=False, rngs=rngs)
        self.pointwise_norm = nnx.BatchNorm(cout, use_running_average=True, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(self.depthwise_norm(self.depthwise(x)))
        return nnx.relu(self.pointwise_norm(self.pointwise(x)))


class NnxMobileNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.conv = nnx.Conv(3, 16, (3, 3), 2, padding=1, use_bias=False, rngs=rngs)
        self.norm = nnx.BatchNorm(16, use_running_average=True, rngs=rngs)
        cins = [16] + [cout for cout, _ in BLOCKS[:-1]]
        self.blocks = nnx.List(
            [
                NnxDepthwiseSeparable(cin, cout, s, rngs)
                for cin, (cout, s) in zip(cins, BLOCKS, strict=True)
            ]
        )
        self.classifier = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = nnx.relu(self.norm(self.conv(x)))
        for block in self.blocks:
            x = block(x)
        return self.classifier(x.mean((1, 2)))


# ---------------------------------------------------------------- 12-Dense MLP (nn.Sequential)
DEPTH = 12


class TorchMLP(torch.nn.Module):
    """net.0, net.2, ..., net.22: the ReLUs take the odd indices."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        for i in range(DEPTH):
            layers += [torch.nn.Linear(WIDTH, WIDTH)] + ([torch.nn.ReLU()] if i < DEPTH - 1 else [])
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(DEPTH - 1):
            x = nn.relu(nn.Dense(WIDTH)(x))
        return nn.Dense(WIDTH)(x)


class NnxMLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.layers = nnx.List([nnx.Linear(WIDTH, WIDTH, rngs=rngs) for _ in range(DEPTH)])

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))
        return self.layers[-1](x)


# ---------------------------------------------------------------- ResBlocks registered outer-first
class TorchOuterFirstResBlock(torch.nn.Module):
    """The skip projection is registered first but called last (and the norm before the MLP)."""

    def __init__(self, cin: int, hidden: int, cout: int) -> None:
        super().__init__()
        self.skip = torch.nn.Linear(cin, cout)
        self.norm = torch.nn.LayerNorm(cout)
        self.fc1 = torch.nn.Linear(cin, hidden)
        self.fc2 = torch.nn.Linear(hidden, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc2(torch.relu(self.fc1(x)))
        return self.norm(h + self.skip(x))


class TorchResNet(torch.nn.Module):
    def __init__(self, hidden: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.blocks = torch.nn.ModuleList(
            TorchOuterFirstResBlock(cin, hidden, cout) for cin, cout in pairwise(widths)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class LinenResBlock(nn.Module):
    """Flax numbers a child when it is constructed, before its argument is evaluated: in
    `Dense(a)(relu(Dense(b)(x)))` the outer one (fc2) is Dense_0 and fc1 is Dense_1."""

    hidden: int
    features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.Dense(self.features)(nn.relu(nn.Dense(self.hidden)(x)))
        return nn.LayerNorm(epsilon=1e-5)(h + nn.Dense(self.features)(x))


class LinenResNet(nn.Module):
    hidden: int
    widths: tuple[int, ...]

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for features in self.widths[1:]:
            x = LinenResBlock(self.hidden, features)(x)
        return x


class NnxResBlock(nnx.Module):
    def __init__(self, cin: int, hidden: int, cout: int, rngs: nnx.Rngs) -> None:
        self.linear1 = nnx.Linear(cin, hidden, rngs=rngs)
        self.linear2 = nnx.Linear(hidden, cout, rngs=rngs)
        self.shortcut = nnx.Linear(cin, cout, rngs=rngs)
        self.norm = nnx.LayerNorm(cout, epsilon=1e-5, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = self.linear2(nnx.relu(self.linear1(x)))
        return self.norm(h + self.shortcut(x))


class NnxResNet(nnx.Module):
    def __init__(self, hidden: int, widths: tuple[int, ...], rngs: nnx.Rngs) -> None:
        self.blocks = nnx.List(
            [NnxResBlock(cin, hidden, cout, rngs) for cin, cout in pairwise(widths)]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for block in self.blocks:
            x = block(x)
        return x


# ---------------------------------------------------------------- pre-norm LayerNorm/Dense stack
class TorchPreNormBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(WIDTH)
        self.fc = torch.nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc(torch.nn.functional.gelu(self.norm(x)))


class TorchPreNormStack(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = torch.nn.Sequential(*(TorchPreNormBlock() for _ in range(3)))
        self.norm = torch.nn.LayerNorm(WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.blocks(x))


class LinenPreNormStack(nn.Module):
    """One flat compact module: LayerNorm_0, Dense_0, LayerNorm_1, ..., LayerNorm_3."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(3):
            h = nn.LayerNorm(epsilon=1e-5)(x)
            x = x + nn.Dense(WIDTH)(nn.gelu(h, approximate=False))
        return nn.LayerNorm(epsilon=1e-5)(x)


class NnxPreNormBlock(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.ln = nnx.LayerNorm(WIDTH, epsilon=1e-5, rngs=rngs)
        self.dense = nnx.Linear(WIDTH, WIDTH, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return x + self.dense(nnx.gelu(self.ln(x), approximate=False))


class NnxPreNormStack(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.layers = nnx.List([NnxPreNormBlock(rngs) for _ in range(3)])
        self.ln_f = nnx.LayerNorm(WIDTH, epsilon=1e-5, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers:
            x = layer(x)
        return self.ln_f(x)


# ---------------------------------------------------------------- transformers Conv1D + nn.Linear
class TorchGPT2Attention(torch.nn.Module):
    """GPT-2's projections: Conv1D stores its weight (in, out); c_proj is square."""

    def __init__(self) -> None:
        super().__init__()
        self.c_attn = Conv1D(3 * WIDTH, WIDTH)
        self.c_proj = Conv1D(WIDTH, 3 * WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(torch.tanh(self.c_attn(x)))


class TorchSquareMLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(WIDTH, WIDTH)
        self.fc2 = torch.nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.tanh(self.fc1(x)))


class TorchConv1DApart(torch.nn.Module):
    """A Conv1D block and a block of square nn.Linears, each in its own module."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = TorchGPT2Attention()
        self.mlp = TorchSquareMLP()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.attn(x))


class LinenGPT2Attention(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = jnp.tanh(nn.Dense(3 * WIDTH, name="c_attn")(x))
        return nn.Dense(WIDTH, name="c_proj")(h)


class LinenSquareMLP(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = jnp.tanh(nn.Dense(WIDTH, name="fc1")(x))
        return nn.Dense(WIDTH, name="fc2")(h)


class LinenConv1DApart(nn.Module):
    """Named like the torch attributes (so it also takes the converter's output without target)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return LinenSquareMLP(name="mlp")(LinenGPT2Attention(name="attn")(x))


class TorchConv1DBeside(torch.nn.Module):
    """A Conv1D projection and square nn.Linears as siblings in one module."""

    def __init__(self) -> None:
        super().__init__()
        self.c_attn = Conv1D(3 * WIDTH, WIDTH)
        self.fc = torch.nn.Linear(3 * WIDTH, WIDTH)
        self.proj = torch.nn.Linear(WIDTH, WIDTH)
        self.out = torch.nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc(torch.tanh(self.c_attn(x)))
        return self.out(torch.tanh(self.proj(x)))


class LinenConv1DBeside(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.Dense(WIDTH, name="fc")(jnp.tanh(nn.Dense(3 * WIDTH, name="c_attn")(x)))
        return nn.Dense(WIDTH, name="out")(jnp.tanh(nn.Dense(WIDTH, name="proj")(x)))


# ---------------------------------------------------------------- cases
@dataclass
class Case:
    """A torch model (randomised), its port's target and runner, torch's output, and where each
    torch module belongs in the port, written out by hand (the reference placement)."""

    torch_model: torch.nn.Module
    target: Any
    run: Callable[[Any], Any]
    expected: np.ndarray
    placements: dict[str, tuple[Any, ...]]
    layout: str = "linen"
    conv1d: tuple[str, ...] = ()
    make: Callable[[], nnx.Module] | None = None  # an NNX port's factory

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.torch_model.state_dict()


def _case(torch_model: torch.nn.Module, x: np.ndarray, flax_model: Any, **fields: Any) -> Case:
    """A linen module (target: jax.eval_shape of its init) or an NNX model (target: the abstract
    model from nnx.eval_shape; run: the real model with the converted state put in)."""
    torch.manual_seed(len(type(torch_model).__name__) + x.size)  # the same values in any selection
    torch_model = randomize_scaled(torch_model)
    with torch.no_grad():
        out = torch_model(torch.from_numpy(x)).numpy()
    xs = x.transpose(0, *range(2, x.ndim), 1) if x.ndim == 4 else x  # NCHW -> NHWC
    if isinstance(flax_model, nn.Module):
        target = jax.eval_shape(flax_model.init, jax.random.key(0), xs)
        return Case(torch_model, target, lambda v: flax_model.apply(v, xs), out, **fields)
    make = flax_model  # an NNX model factory

    def run(pure: Any) -> Any:
        return load_nnx(make(), pure)(jnp.asarray(xs))

    return Case(torch_model, nnx.eval_shape(make), run, out, layout="nnx", make=make, **fields)


def rng_input(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


def mobilenet(flavour: str) -> Case:
    linen = flavour == "linen"
    stem = (
        {"stem.0": ("Conv_0",), "stem.1": ("BatchNorm_0",)}
        if linen
        else {"stem.0": ("conv",), "stem.1": ("norm",)}
    )
    names = (
        ("Conv_0", "BatchNorm_0", "Conv_1", "BatchNorm_1")
        if linen
        else ("depthwise", "depthwise_norm", "pointwise", "pointwise_norm")
    )
    blocks = {
        f"blocks.{i}.{t}": (f"LinenDepthwiseSeparable_{i}", n) if linen else ("blocks", i, n)
        for i in range(len(BLOCKS))
        for t, n in zip(("dw", "bn1", "pw", "bn2"), names, strict=True)
    }
    head = {"head": ("Dense_0",) if linen else ("classifier",)}
    port = LinenMobileNet() if linen else (lambda: NnxMobileNet(nnx.Rngs(0)))
    x = rng_input(2, 3, 16, 16)
    return _case(TorchMobileNet(), x, port, placements={**stem, **blocks, **head})


def mlp(flavour: str) -> Case:
    linen = flavour == "linen"
    placements = {f"net.{2 * i}": (f"Dense_{i}",) if linen else ("layers", i) for i in range(DEPTH)}
    port = LinenMLP() if linen else (lambda: NnxMLP(nnx.Rngs(0)))
    return _case(TorchMLP(), rng_input(4, WIDTH), port, placements=placements)


def resnet(flavour: str, hidden: int, widths: tuple[int, ...]) -> Case:
    linen = flavour == "linen"
    names = {"fc2": "Dense_0", "fc1": "Dense_1", "skip": "Dense_2", "norm": "LayerNorm_0"}
    if not linen:
        names = {"fc1": "linear1", "fc2": "linear2", "skip": "shortcut", "norm": "norm"}
    placements = {
        f"blocks.{i}.{t}": (f"LinenResBlock_{i}", n) if linen else ("blocks", i, n)
        for i in range(len(widths) - 1)
        for t, n in names.items()
    }
    port = (
        LinenResNet(hidden, widths) if linen else (lambda: NnxResNet(hidden, widths, nnx.Rngs(0)))
    )
    x = rng_input(4, widths[0])
    return _case(TorchResNet(hidden, widths), x, port, placements=placements)


def prenorm(flavour: str) -> Case:
    linen = flavour == "linen"
    if linen:
        placements = {
            f"blocks.{i}.{t}": (f"{n}_{i}",)
            for i in range(3)
            for t, n in (("norm", "LayerNorm"), ("fc", "Dense"))
        }
        placements["norm"] = ("LayerNorm_3",)
    else:
        placements = {
            f"blocks.{i}.{t}": ("layers", i, n)
            for i in range(3)
            for t, n in (("norm", "ln"), ("fc", "dense"))
        }
        placements["norm"] = ("ln_f",)
    port = LinenPreNormStack() if linen else (lambda: NnxPreNormStack(nnx.Rngs(0)))
    return _case(TorchPreNormStack(), rng_input(4, WIDTH), port, placements=placements)


def conv1d_apart() -> Case:
    placements = {
        n: tuple(n.split(".")) for n in ("attn.c_attn", "attn.c_proj", "mlp.fc1", "mlp.fc2")
    }
    return _case(
        TorchConv1DApart(),
        rng_input(4, WIDTH),
        LinenConv1DApart(),
        placements=placements,
        conv1d=("attn.c_attn", "attn.c_proj"),
    )


def conv1d_beside() -> Case:
    placements = {n: (n,) for n in ("c_attn", "fc", "proj", "out")}
    return _case(
        TorchConv1DBeside(),
        rng_input(4, WIDTH),
        LinenConv1DBeside(),
        placements=placements,
        conv1d=("c_attn",),
    )


def mobilenet_flat() -> Case:
    placements = {"stem.0": ("Conv_0",), "stem.1": ("BatchNorm_0",), "head": ("Dense_0",)}
    for i in range(len(BLOCKS)):
        for j, (conv, bn) in enumerate((("dw", "bn1"), ("pw", "bn2"))):
            placements[f"blocks.{i}.{conv}"] = (f"Conv_{2 * i + j + 1}",)
            placements[f"blocks.{i}.{bn}"] = (f"BatchNorm_{2 * i + j + 1}",)
    return _case(
        TorchMobileNet(), rng_input(2, 3, 16, 16), LinenFlatMobileNet(), placements=placements
    )


def by_hand(case: Case, swap: tuple[str, str] | None = None) -> Any:
    """The conversion a user writes out for this port, one module at a time: the reference.
    `swap` exchanges where two torch modules go (a wrong placement that fits every shape)."""
    state = {k: v.detach().numpy() for k, v in case.state_dict().items()}
    placements = dict(case.placements)
    if swap:
        a, b = swap
        placements[a], placements[b] = placements[b], placements[a]
    params: dict = {}
    stats: dict = {}
    for module, path in placements.items():
        w, bias = state[f"{module}.weight"], state.get(f"{module}.bias")
        leaves = {"bias": bias} if bias is not None else {}
        if f"{module}.running_mean" in state:  # BatchNorm
            leaves["scale"] = w
            moments = {
                "mean": state[f"{module}.running_mean"],
                "var": state[f"{module}.running_var"],
            }
            _put(params if case.layout == "nnx" else stats, path, moments)
        elif w.ndim == 1:  # LayerNorm
            leaves["scale"] = w
        elif w.ndim == 4:  # Conv2d (O, I/g, kh, kw) -> (kh, kw, I/g, O)
            leaves["kernel"] = w.transpose(2, 3, 1, 0)
        else:  # Conv1D stores (in, out) already, Linear (out, in)
            leaves["kernel"] = w if module in case.conv1d else w.T
        _put(params, path, leaves)
    if case.layout == "nnx":
        return params
    return {"params": params, "batch_stats": stats} if stats else {"params": params}


def _put(tree: dict, path: tuple[Any, ...], leaves: dict) -> None:
    for key in path:
        tree = tree.setdefault(key, {})
    tree.update(leaves)


def error_of(case: Case, variables: Any) -> float:
    got = np.asarray(case.run(variables))
    assert got.shape == case.expected.shape
    return float(np.max(np.abs(got - case.expected)))


# ---------------------------------------------------------------- the bar
def module_paths(state: dict[str, torch.Tensor]) -> set[str]:
    return {key.rsplit(".", 1)[0] for key in state}


def convert_or_refuse(case: Case, *, with_target: bool = True) -> str:
    """`from_torch(state, target=..., strict=True)`: either it raises a ValueError that says
    "ambiguous" and names a torch module, or the port's output equals torch within 1e-5. Returns
    "exact" or "refused"; a passing strict conversion with a wrong output fails here."""
    state = case.state_dict()
    target = case.target if with_target else None
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            variables = KeyMapper.from_torch(state, target=target, layout=case.layout, strict=True)
    except ValueError as error:
        message = str(error)
        assert "ambiguous" in message.lower(), f"refused, but not for an ambiguity: {message}"
        assert any(m in message for m in module_paths(state)), f"names no module: {message}"
        return "refused"
    worst = error_of(case, variables)
    assert worst <= ATOL, f"strict passed but the output is off by {worst:.3g}"
    return "exact"
