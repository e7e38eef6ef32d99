"""Hand-written Flax ports of plain torch.nn models (issue 12): linen `@nn.compact` modules, whose
children are auto-named per type in call order (Dense_0, Conv_1, BatchNorm_2), and NNX modules
named as a porter names them. Layer shapes repeat, so a wrong placement fits every shape.

The bar for every port: `from_torch(state, target=..., strict=True)` either raises a ValueError
naming the ambiguity or gives torch's outputs within 1e-5. Never: strict passes, output wrong.
Where shapes alone decide every placement, only "exact" will do.

| port                                 | why it is hard                                         |
|--------------------------------------|--------------------------------------------------------|
| MobileNet-like CNN (linen, NNX)      | equal BNs in a block, three identical blocks in a row  |
| 12 equal Dense from nn.Sequential    | torch net.0, net.2, ... net.22; Dense_0 ... Dense_11,  |
| (linen, NNX)                         | and jax.eval_shape returns Dense_10 before Dense_2     |
| ResBlocks registered outer-first     | torch lists skip before fc1/fc2, Flax calls it last    |
| (linen, NNX)                         |                                                        |
| pre-norm LayerNorm/Dense stack       | torch nests blocks.N.norm/fc, the port is one flat     |
| (linen flat, NNX nested)             | compact module (LayerNorm_0..3, Dense_0..2)            |
| Conv1D beside square nn.Linear       | Conv1D is (in, out), a square Linear must still be     |
|                                      | transposed, with or without a target                   |
"""

import functools

import pytest
from compact_ports import (
    Case,
    by_hand,
    conv1d_mixed,
    convert_or_refuse,
    error_of,
    mlp,
    mobilenet,
    prenorm,
    resnet,
)
from torch_oracle import ATOL

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
    "conv1d-mixed-linen": conv1d_mixed,
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
    "conv1d-mixed-linen": ("proj", "out"),
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


def test_conv1d_elsewhere_leaves_square_linears_transposed_with_a_target() -> None:
    assert convert_or_refuse(built("conv1d-mixed-linen")) == "exact"


def test_conv1d_elsewhere_leaves_square_linears_right_or_ambiguous_without_a_target() -> None:
    assert convert_or_refuse(built("conv1d-mixed-linen"), with_target=False) in ("exact", "refused")
