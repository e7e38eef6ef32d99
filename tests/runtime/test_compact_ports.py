"""Hand-written Flax ports of plain torch.nn models (issue 12): linen `@nn.compact` modules, whose
children are auto-named per type in call order (Dense_0, Conv_1, BatchNorm_2), and NNX modules
named as a porter names them. Layer shapes repeat, so a wrong placement fits every shape.

The bar for every port: `from_torch(state, target=..., strict=True)` either raises a ValueError
naming the ambiguity or gives torch's outputs within 1e-5. Never: strict passes, output wrong.

| port                                 | why it is hard                                         |
|--------------------------------------|--------------------------------------------------------|
| MobileNet-like CNN (linen, NNX)      | equal BNs in a block, three identical blocks in a row  |
| the same in one flat compact module  | BatchNorm_3 is blocks.1.bn1: the digits do not match   |
| 12 equal Dense from nn.Sequential    | torch net.0, net.2, ... net.22; Dense_0 ... Dense_11,  |
| (linen, NNX)                         | and jax.eval_shape returns Dense_10 before Dense_2     |
| ResBlocks registered outer-first     | torch lists skip before fc1/fc2, Flax calls it last    |
| (linen, NNX)                         |                                                        |
| pre-norm LayerNorm/Dense stack       | torch nests blocks.N.norm/fc, the port is one flat     |
| (linen flat, NNX nested)             | compact module (LayerNorm_0..3, Dense_0..2)            |
| Conv1D block apart from a block of   | Conv1D is (in, out) (square c_proj too): the Linears   |
| square nn.Linear                     | elsewhere are still transposed                         |
| Conv1D beside square nn.Linear in    | nothing tells a square Linear from a square Conv1D:    |
| one module                           | exact or ambiguous, with or without a target           |

Only "exact" will do where shapes and indices decide: outer-first ResBlocks whose layers differ
in shape (blocks.N is LinenResBlock_N / blocks/N), and the Linears of the Conv1D-apart model.
"""

import functools

import jax
import numpy as np
import pytest
from compact_ports import (
    Case,
    by_hand,
    conv1d_apart,
    conv1d_beside,
    convert_or_refuse,
    error_of,
    mlp,
    mobilenet,
    mobilenet_flat,
    prenorm,
    resnet,
)
from torch_oracle import ATOL

from switcheroo_lsp.runtime import KeyMapper

pytestmark = pytest.mark.slow  # about 20 s of CPU, 45-75 s on the shared 2 cores

SQUARE = (16, (16, 16, 16))  # hidden, widths: every Dense in a block is 16 x 16
DISTINCT = (24, (8, 16, 16, 16))  # skip 8->16 or 16->16, fc1 ->24, fc2 24->16: shapes decide

CASES = {
    "mobilenet-linen": lambda: mobilenet("linen"),
    "mobilenet-nnx": lambda: mobilenet("nnx"),
    "mlp-linen": lambda: mlp("linen"),
    "mlp-nnx": lambda: mlp("nnx"),
    "resblocks-square-linen": lambda: resnet("linen", *SQUARE),
    "resblocks-square-nnx": lambda: resnet("nnx", *SQUARE),
    "resblocks-distinct-linen": lambda: resnet("linen", *DISTINCT),
    "resblocks-distinct-nnx": lambda: resnet("nnx", *DISTINCT),
    "prenorm-linen": lambda: prenorm("linen"),
    "prenorm-nnx": lambda: prenorm("nnx"),
    "mobilenet-flat-linen": mobilenet_flat,
    "conv1d-apart-linen": conv1d_apart,
    "conv1d-beside-linen": conv1d_beside,
}
# Two torch modules of equal shapes each port could swap without any shape error.
SWAPS = {
    "mobilenet-linen": ("blocks.1.bn1", "blocks.1.bn2"),
    "mobilenet-nnx": ("blocks.1.bn1", "blocks.1.bn2"),
    "mlp-linen": ("net.2", "net.4"),
    "mlp-nnx": ("net.2", "net.4"),
    "resblocks-square-linen": ("blocks.0.skip", "blocks.0.fc1"),
    "resblocks-square-nnx": ("blocks.0.skip", "blocks.0.fc1"),
    "resblocks-distinct-linen": ("blocks.1.skip", "blocks.2.skip"),
    "resblocks-distinct-nnx": ("blocks.1.skip", "blocks.2.skip"),
    "prenorm-linen": ("blocks.0.norm", "norm"),
    "prenorm-nnx": ("blocks.0.fc", "blocks.2.fc"),
    "mobilenet-flat-linen": ("blocks.1.bn1", "blocks.1.bn2"),
    "conv1d-apart-linen": ("mlp.fc1", "mlp.fc2"),
    "conv1d-beside-linen": ("proj", "out"),
}


@functools.cache
def built(name: str) -> Case:
    """Each case built once per session (the tests only read it)."""
    return CASES[name]()


# ---------------------------------------------------------------- the harness itself
@pytest.mark.parametrize("name", CASES)
def test_the_port_reproduces_torch_when_placed_by_hand(name: str) -> None:
    case = built(name)
    assert error_of(case, by_hand(case)) <= ATOL


@pytest.mark.parametrize("name", CASES)
def test_a_swap_of_two_equal_shape_layers_fits_the_port_but_changes_its_output(name: str) -> None:
    case = built(name)
    assert error_of(case, by_hand(case, swap=SWAPS[name])) > 1000 * ATOL


# ---------------------------------------------------------------- the converter
@pytest.mark.parametrize("name", CASES)
def test_strict_conversion_is_exact_or_names_the_ambiguity(name: str) -> None:
    assert convert_or_refuse(built(name)) in ("exact", "refused")


@pytest.mark.parametrize("name", ["resblocks-distinct-linen", "resblocks-distinct-nnx"])
def test_outer_first_resblocks_are_placed_by_shape_where_shapes_differ(name: str) -> None:
    assert convert_or_refuse(built(name)) == "exact"


def test_a_conv1d_module_leaves_square_linears_in_other_modules_transposed() -> None:
    assert convert_or_refuse(built("conv1d-apart-linen")) == "exact"


@pytest.mark.parametrize("name", ["conv1d-apart-linen", "conv1d-beside-linen"])
def test_without_a_target_square_linears_beside_conv1d_are_right_or_ambiguous(name: str) -> None:
    assert convert_or_refuse(built(name), with_target=False) in ("exact", "refused")


@pytest.mark.parametrize("name", ["prenorm-nnx", "resblocks-distinct-nnx"])
def test_a_live_nnx_model_is_a_target_as_its_abstract_shapes_are(name: str) -> None:
    case = built(name)
    assert case.make is not None
    from_live = KeyMapper.from_torch(case.state_dict(), target=case.make(), strict=True)
    from_shapes = KeyMapper.from_torch(case.state_dict(), target=case.target, strict=True)
    jax.tree.map(np.testing.assert_array_equal, from_live, from_shapes)
    assert error_of(case, from_live) <= ATOL
