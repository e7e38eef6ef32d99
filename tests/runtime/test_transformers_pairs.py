"""transformers' own PyTorch/Flax pairs as the oracle (issue 12): one tiny config per family, every
torch parameter and float buffer re-randomised, and the user's flow

    target = flax_model.params_shape_tree          # FlaxXModel(config, _do_init=False): shapes only
    params = KeyMapper.from_torch(torch_model.state_dict(), target=target, strict=True)
    flax_model(**inputs, params=params)            # == torch_model(**inputs) within 1e-5

with strict silent: no exception, no warning, nothing in the report. The harness itself is checked
first: transformers' converter reproduces torch through it, and one broken norm weight is caught."""

import warnings
from pathlib import Path

import jax
import numpy as np
import pytest
from hf_pairs import FAMILIES, MORE_FAMILIES, a_norm_weight, build, transformers_conversion
from torch_oracle import ATOL

from switcheroo_lsp.runtime import KeyMapper

pytestmark = pytest.mark.slow

NAMES = [family.name for family in FAMILIES + MORE_FAMILIES]


@pytest.mark.parametrize("name", NAMES)
def test_transformers_converter_reproduces_torch_through_the_harness(name: str) -> None:
    pair = build(name)
    assert pair.worst_error(transformers_conversion(pair, pair.state_dict())) <= ATOL


@pytest.mark.parametrize("name", NAMES)
def test_the_harness_sees_one_norm_weight_off_by_a_tenth(name: str) -> None:
    pair = build(name)
    state = dict(pair.state_dict())
    key = a_norm_weight(state)
    state[key] = state[key] + 0.1
    assert pair.worst_error(transformers_conversion(pair, state)) > 100 * ATOL, key


@pytest.mark.parametrize("name", NAMES)
def test_strict_conversion_into_the_flax_models_shapes_matches_torch(name: str) -> None:
    pair = build(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params, report = KeyMapper.from_torch(
            pair.state_dict(), target=pair.target, strict=True, return_report=True
        )
    assert [str(w.message) for w in caught] == []
    assert report.missing_keys == []
    assert report.unexpected_keys == []
    assert report.mismatched == []
    assert report.ambiguous == []
    assert pair.worst_error(params) <= ATOL


@pytest.mark.parametrize("name", ["llama", "gemma"])
def test_a_safetensors_checkpoint_converts_as_its_state_dict(name: str, tmp_path: Path) -> None:
    """save_pretrained's model.safetensors (Gemma's tied lm_head is left out of it) gives the
    same tree, array for array, as the live state dict."""
    pair = build(name)
    pair.torch_model.save_pretrained(tmp_path, safe_serialization=True)
    from_file = KeyMapper.from_torch(
        tmp_path / "model.safetensors", target=pair.target, strict=True
    )
    from_state = KeyMapper.from_torch(pair.state_dict(), target=pair.target, strict=True)
    jax.tree.map(np.testing.assert_array_equal, from_file, from_state)
    assert pair.worst_error(from_file) <= ATOL


TIED = {
    "gpt2": {"lm_head.weight": "transformer.wte.weight"},
    "opt": {"lm_head.weight": "model.decoder.embed_tokens.weight"},
    "bart": {
        "model.encoder.embed_tokens.weight": "model.shared.weight",
        "model.decoder.embed_tokens.weight": "model.shared.weight",
        "lm_head.weight": "model.shared.weight",
    },
    "t5": {
        "encoder.embed_tokens.weight": "shared.weight",
        "decoder.embed_tokens.weight": "shared.weight",
        "lm_head.weight": "shared.weight",
    },
    "bert-mlm": {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    },
    "gemma": {"lm_head.weight": "model.embed_tokens.weight"},
}


@pytest.mark.parametrize("name", TIED)
def test_tied_tensors_are_reported_as_tied_to_the_tensor_placed(name: str) -> None:
    pair = build(name)
    _, report = KeyMapper.from_torch(pair.state_dict(), target=pair.target, return_report=True)
    assert dict(report.tied) == TIED[name]


def test_fixed_sinusoid_tables_are_reported_apart_from_unexpected_keys() -> None:
    """Marian's position tables are fixed (the Flax model recomputes them): tied or fixed."""
    pair = build("marian")
    _, report = KeyMapper.from_torch(pair.state_dict(), target=pair.target, return_report=True)
    positions = {f"model.{side}.embed_positions.weight" for side in ("encoder", "decoder")}
    assert positions <= set(report.buffers) | {key for key, _ in report.tied}
    assert report.unexpected_keys == []
