"""How a layer's type is read: from sibling keys and ranks, never from the layer's name; and the
one-tensor API (map_name / map_value) and report that migrated code relies on."""

import warnings

import numpy as np
import pytest
import torch

from switcheroo_lsp.runtime import KeyMapper


def flat(tree, prefix=()) -> dict:
    out = {}
    for k, v in tree.items():
        out.update(flat(v, (*prefix, k)) if isinstance(v, dict) else {(*prefix, k): v})
    return out


def convert(state: dict, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flat(KeyMapper.from_torch(state, **kw))


@pytest.mark.parametrize("name", ["abnormal", "normalizer_proj", "norm", "bn", "layernorm"])
def test_layer_names_never_decide_the_type(name: str) -> None:
    linear = convert({f"{name}.weight": torch.zeros(3, 4), f"{name}.bias": torch.zeros(3)})
    assert set(linear) == {("params", name, "kernel"), ("params", name, "bias")}
    norm = convert({f"{name}.weight": torch.zeros(4), f"{name}.bias": torch.zeros(4)})
    assert set(norm) == {("params", name, "scale"), ("params", name, "bias")}


def test_batch_norm_is_read_from_its_running_statistics() -> None:
    state = {f"fc.{n}": torch.ones(4) for n in ("weight", "bias", "running_mean", "running_var")}
    state["fc.num_batches_tracked"] = torch.tensor(7)
    variables, report = KeyMapper.from_torch(state, return_report=True)
    assert flat(variables).keys() == {("params", "fc", "scale"), ("params", "fc", "bias"),
                                      ("batch_stats", "fc", "mean"), ("batch_stats", "fc", "var")}  # fmt: skip
    assert report.dropped == ["fc.num_batches_tracked"] and not report
    nnx_tree = KeyMapper.from_torch(state, layout="nnx")
    assert set(nnx_tree["fc"]) == {"scale", "bias", "mean", "var"}  # NNX: beside scale/bias


def test_batch_norm_without_affine_has_only_statistics() -> None:
    bn = torch.nn.BatchNorm2d(3, affine=False)
    assert set(convert(bn.state_dict())) == {("batch_stats", "mean"), ("batch_stats", "var")}


def test_conv_kernels_move_the_output_axis_last_for_every_rank() -> None:
    for dims in (1, 2, 3):
        w = torch.randn(6, 2, *range(3, 3 + dims))  # (O, I/g, k1, ...)
        kernel = convert({"c.weight": w})[("params", "c", "kernel")]
        assert kernel.shape == (*range(3, 3 + dims), 2, 6)
        np.testing.assert_array_equal(kernel, w.permute(*range(2, 2 + dims), 1, 0).numpy())


def test_sequence_indices_are_joined_in_linen_and_integers_in_nnx() -> None:
    state = {"0.weight": torch.zeros(3, 4), "0.bias": torch.zeros(3),
             "blocks.1.fc.weight": torch.zeros(2, 3), "blocks.1.fc.bias": torch.zeros(2)}  # fmt: skip
    assert set(convert(state)) >= {
        ("params", "layers_0", "kernel"),
        ("params", "blocks_1", "fc", "kernel"),
    }
    assert set(convert(state, layout="nnx")) >= {
        ("layers", 0, "kernel"),
        ("blocks", 1, "fc", "kernel"),
    }


def test_map_name_and_map_value_for_one_tensor() -> None:
    assert KeyMapper.map_name("features.0.weight", 4) == (("params", "features_0", "kernel"),)
    assert KeyMapper.map_name("features.0.weight", 4, layout="nnx") == (("features", 0, "kernel"),)
    assert KeyMapper.map_name("bn.running_var", 1) == (("batch_stats", "bn", "var"),)
    assert KeyMapper.map_name("module.ln.weight", 1) == (("params", "ln", "scale"),)
    assert KeyMapper.map_name("attn.in_proj_weight", layout="nnx") == (
        ("attn", "query", "kernel"), ("attn", "key", "kernel"), ("attn", "value", "kernel"))  # fmt: skip
    w = torch.randn(3, 5)
    ((path, value),) = KeyMapper.map_value("head.weight", w).items()
    assert path == ("params", "head", "kernel")
    np.testing.assert_array_equal(value, w.T.numpy())
    assert set(KeyMapper.map_value("attn.in_proj_weight", torch.zeros(12, 4))) == {
        ("params", "attn", n, "kernel") for n in ("query", "key", "value")}  # fmt: skip


def test_report_unpacks_like_torch_incompatible_keys() -> None:
    _, report = KeyMapper.from_torch({"fc.weight": torch.zeros(2, 2), "fc.bias": torch.zeros(2)},
                                     return_report=True)  # fmt: skip
    missing, unexpected = report
    assert missing == report.missing_keys == [] and unexpected == report.unexpected_keys == []
    assert not report and repr(report) == "all mapped"


def test_unsupported_attention_bias_kv_is_reported_and_strict_raises() -> None:
    mha = torch.nn.MultiheadAttention(4, 2, add_bias_kv=True)
    with pytest.warns(UserWarning, match="bias_k"):
        _, report = KeyMapper.from_torch(mha.state_dict(), num_heads=2, return_report=True)
    assert any("bias_k" in k for k in report.unexpected_keys)
    with pytest.raises(ValueError, match="bias_v"):
        KeyMapper.from_torch(mha.state_dict(), num_heads=2, strict=True)


def test_attention_heads_shape_the_kernels() -> None:
    mha = torch.nn.MultiheadAttention(8, 2)
    tree = convert(mha.state_dict(), num_heads=2)
    assert tree[("params", "query", "kernel")].shape == (8, 2, 4)
    assert tree[("params", "query", "bias")].shape == (2, 4)
    assert tree[("params", "out", "kernel")].shape == (2, 4, 8)
    with pytest.raises(ValueError, match="not divisible by 3 heads"):
        KeyMapper.from_torch(mha.state_dict(), num_heads=3)


def test_lstm_projection_is_an_error_naming_the_key() -> None:
    with pytest.raises(ValueError, match="weight_hr_l0"):
        KeyMapper.from_torch(torch.nn.LSTM(3, 4, proj_size=2).state_dict())


def test_bad_layout_is_an_error() -> None:
    with pytest.raises(ValueError, match="layout"):
        KeyMapper.from_torch({"w": torch.zeros(1)}, layout="haiku")


def test_transformers_conv1d_weights_are_read_from_their_bias() -> None:
    """GPT-2's Conv1D stores (in, out): the bias length says so; an nn.Dense kernel is that as is."""
    state = {"c_fc.weight": torch.randn(4, 6), "c_fc.bias": torch.zeros(6),
             "c_proj.weight": torch.randn(6, 6), "c_proj.bias": torch.zeros(6)}  # fmt: skip
    tree = convert(state)
    np.testing.assert_array_equal(tree[("params", "c_fc", "kernel")], state["c_fc.weight"].numpy())
    np.testing.assert_array_equal(
        tree[("params", "c_proj", "kernel")], state["c_proj.weight"].numpy()
    )
    transposed = {"params": {"c_fc": {"kernel": np.zeros((6, 4)), "bias": np.zeros(6)},
                             "c_proj": {"kernel": np.zeros((6, 6)), "bias": np.zeros(6)}}}  # fmt: skip
    tree = convert(state, target=transposed)  # a target storing (out, in), like transformers' Flax
    np.testing.assert_array_equal(
        tree[("params", "c_fc", "kernel")], state["c_fc.weight"].numpy().T
    )
    np.testing.assert_array_equal(
        tree[("params", "c_proj", "kernel")], state["c_proj.weight"].numpy().T
    )


def test_a_module_with_only_a_dropped_counter_gives_nothing() -> None:
    state = {
        "bn.num_batches_tracked": torch.tensor(3),
        "fc.weight": torch.zeros(2, 3),
        "fc.bias": torch.zeros(2),
    }
    target = {
        "params": {"fc": {"kernel": np.zeros((3, 2), np.float32), "bias": np.zeros(2, np.float32)}}
    }
    variables, report = KeyMapper.from_torch(state, target=target, strict=True, return_report=True)
    assert report.dropped == ["bn.num_batches_tracked"] and set(variables["params"]) == {"fc"}
    assert set(KeyMapper.from_torch(state)["params"]) == {"fc"}
