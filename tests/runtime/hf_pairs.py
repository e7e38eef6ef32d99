"""transformers' own PyTorch/Flax model pairs as a conversion oracle: one tiny config per family,
built in both frameworks, every torch parameter and float buffer re-randomised, the same inputs.

A case is compared on named outputs (logits, last hidden state, embeddings), torch's first."""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import torch
import transformers
from random_weights import randomize_scaled

BATCH, SEQ = 2, 7
VOCAB = 99


@dataclass(frozen=True)
class Family:
    """One PyTorch/Flax pair of transformers classes sharing one config."""

    name: str
    config: Callable[[], transformers.PretrainedConfig]
    torch_class: str
    flax_class: str
    inputs: Callable[[np.random.Generator], dict[str, np.ndarray]]
    outputs: tuple[str, ...]
    fixed: tuple[str, ...] = ()  # fixed tables the Flax model recomputes: not re-randomised


@dataclass
class Pair:
    """A built family: the randomised torch model, an uninitialised Flax model (`_do_init=False`,
    so its parameters exist only as shapes), the inputs and torch's outputs on them."""

    family: Family
    torch_model: torch.nn.Module
    flax_model: Any
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]

    @property
    def target(self) -> Any:
        """The Flax model's parameter tree as shapes and dtypes (jax.eval_shape of its init)."""
        return self.flax_model.params_shape_tree

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.torch_model.state_dict()

    def run_flax(self, params: Any) -> dict[str, np.ndarray]:
        out = self.flax_model(**self.inputs, params=params)
        return {name: np.asarray(getattr(out, name)) for name in self.family.outputs}

    def worst_error(self, params: Any) -> float:
        """The largest absolute difference from torch over every compared output."""
        got = self.run_flax(params)
        worst = 0.0
        for name, expected in self.expected.items():
            assert got[name].shape == expected.shape, (name, got[name].shape, expected.shape)
            worst = max(worst, float(np.max(np.abs(got[name] - expected))))
        return worst


def tokens(rng: np.random.Generator, low: int = 3) -> np.ndarray:
    """Token ids above the special ones (RoBERTa's padding index 1 shifts positions)."""
    return rng.integers(low, VOCAB, (BATCH, SEQ)).astype(np.int32)


def text(rng: np.random.Generator) -> dict[str, np.ndarray]:
    mask = np.ones((BATCH, SEQ), np.int32)
    mask[1, -2:] = 0  # one padded row: masks reach the attention
    return {"input_ids": tokens(rng), "attention_mask": mask}


def ids_only(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input_ids": tokens(rng)}


def seq2seq(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {**text(rng), "decoder_input_ids": tokens(rng)}


def image(size: int) -> Callable[[np.random.Generator], dict[str, np.ndarray]]:
    def make(rng: np.random.Generator) -> dict[str, np.ndarray]:  # NCHW on both sides
        return {"pixel_values": rng.standard_normal((BATCH, 3, size, size)).astype(np.float32)}

    return make


def clip_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {**ids_only(rng), **image(16)(rng)}


def speech(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input_values": rng.standard_normal((BATCH, 400)).astype(np.float32)}


def whisper_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    features = rng.standard_normal((BATCH, 8, 32)).astype(np.float32)  # 2 * max_source_positions
    return {"input_features": features, "decoder_input_ids": tokens(rng)}


TINY = {"vocab_size": VOCAB, "attn_implementation": "eager"}
ENCODER = {
    **TINY,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
}
DECODER = {**ENCODER, "num_key_value_heads": 2}
SEQ2SEQ = {
    **TINY,
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "max_position_embeddings": 64,
}
VISION = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "image_size": 16,
    "patch_size": 4,
}

FAMILIES = (
    Family(
        "bert",
        lambda: transformers.BertConfig(**ENCODER),
        "BertModel",
        "FlaxBertModel",
        text,
        ("last_hidden_state", "pooler_output"),
    ),
    Family(
        "roberta",
        lambda: transformers.RobertaConfig(**ENCODER),
        "RobertaModel",
        "FlaxRobertaModel",
        text,
        ("last_hidden_state", "pooler_output"),
    ),
    Family(
        "gpt2",
        lambda: transformers.GPT2Config(**TINY, n_embd=32, n_layer=2, n_head=4, n_positions=64),
        "GPT2LMHeadModel",
        "FlaxGPT2LMHeadModel",
        text,
        ("logits",),
    ),
    Family(
        "gptj",
        lambda: transformers.GPTJConfig(
            **TINY, n_embd=32, n_layer=2, n_head=4, n_positions=64, rotary_dim=4
        ),
        "GPTJForCausalLM",
        "FlaxGPTJForCausalLM",
        text,
        ("logits",),
    ),
    Family(
        "opt",
        lambda: transformers.OPTConfig(**ENCODER, ffn_dim=64, word_embed_proj_dim=32),
        "OPTForCausalLM",
        "FlaxOPTForCausalLM",
        text,
        ("logits",),
    ),
    Family(
        "bart",
        lambda: transformers.BartConfig(**SEQ2SEQ),
        "BartForConditionalGeneration",
        "FlaxBartForConditionalGeneration",
        seq2seq,
        ("logits", "encoder_last_hidden_state"),
    ),
    Family(
        "t5",
        lambda: transformers.T5Config(
            **TINY,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
        ),
        "T5ForConditionalGeneration",
        "FlaxT5ForConditionalGeneration",
        seq2seq,
        ("logits", "encoder_last_hidden_state"),
    ),
    Family(
        "vit",
        lambda: transformers.ViTConfig(**VISION),
        "ViTModel",
        "FlaxViTModel",
        image(16),
        ("last_hidden_state", "pooler_output"),
    ),
    Family(
        "resnet",
        lambda: transformers.ResNetConfig(
            embedding_size=8, hidden_sizes=[8, 16], depths=[1, 2], layer_type="bottleneck"
        ),
        "ResNetModel",
        "FlaxResNetModel",
        image(32),
        ("last_hidden_state", "pooler_output"),
    ),
    Family(
        "clip",
        lambda: transformers.CLIPConfig(
            text_config={**ENCODER, "max_position_embeddings": 16, "projection_dim": 16},
            vision_config=VISION,
            projection_dim=16,
        ),
        "CLIPModel",
        "FlaxCLIPModel",
        clip_inputs,
        ("text_embeds", "image_embeds", "logits_per_image"),
    ),
    Family(
        "wav2vec2",
        lambda: transformers.Wav2Vec2Config(
            **ENCODER,
            conv_dim=(16, 16),
            conv_kernel=(10, 3),
            conv_stride=(5, 2),
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2,
            do_stable_layer_norm=True,
            feat_extract_norm="layer",
        ),
        "Wav2Vec2Model",
        "FlaxWav2Vec2Model",
        speech,
        ("last_hidden_state", "extract_features"),
    ),
    Family(
        "whisper",
        lambda: transformers.WhisperConfig(
            **SEQ2SEQ,
            num_mel_bins=8,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=1,
            max_source_positions=16,
            max_target_positions=64,
        ),
        "WhisperModel",
        "FlaxWhisperModel",
        whisper_inputs,
        ("last_hidden_state", "encoder_last_hidden_state"),
    ),
    Family(
        "llama",
        lambda: transformers.LlamaConfig(**DECODER),
        "LlamaForCausalLM",
        "FlaxLlamaForCausalLM",
        text,
        ("logits",),
    ),
    Family(
        "mistral",
        # (Flax Mistral with sliding_window=None attends to the diagonal only: give it a window)
        lambda: transformers.MistralConfig(**DECODER, sliding_window=SEQ + 1),
        "MistralForCausalLM",
        "FlaxMistralForCausalLM",
        text,
        ("logits",),
    ),
    Family(
        "gemma",
        lambda: transformers.GemmaConfig(**DECODER, head_dim=8),
        "GemmaForCausalLM",
        "FlaxGemmaForCausalLM",
        text,
        ("logits",),
    ),
)
# More families, each for a feature the fifteen above lack: a tied decoder and bias (BERT MLM),
# RMSNorm with untied heads (mT5) and local attention (LongT5), fixed sinusoidal tables (Marian),
# tied RMSNorm decoders (Llama tied). (Flax Wav2Vec2 has only the stable layer norm variant.)
MORE_FAMILIES = (
    Family(
        "bert-mlm",
        lambda: transformers.BertConfig(**ENCODER),
        "BertForMaskedLM",
        "FlaxBertForMaskedLM",
        text,
        ("logits",),
    ),
    Family(
        "mt5",
        lambda: transformers.MT5Config(
            **TINY,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
        ),
        "MT5ForConditionalGeneration",
        "FlaxMT5ForConditionalGeneration",
        seq2seq,
        ("logits", "encoder_last_hidden_state"),
    ),
    Family(
        "longt5",
        lambda: transformers.LongT5Config(
            **TINY,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            local_radius=2,
            encoder_attention_type="local",
        ),
        "LongT5ForConditionalGeneration",
        "FlaxLongT5ForConditionalGeneration",
        seq2seq,
        ("logits", "encoder_last_hidden_state"),
    ),
    Family(
        "marian",
        lambda: transformers.MarianConfig(**SEQ2SEQ, pad_token_id=0, decoder_start_token_id=0),
        "MarianMTModel",
        "FlaxMarianMTModel",
        seq2seq,
        ("logits", "encoder_last_hidden_state"),
        fixed=("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"),
    ),
    Family(
        "llama-tied",
        lambda: transformers.LlamaConfig(**DECODER, tie_word_embeddings=True),
        "LlamaForCausalLM",
        "FlaxLlamaForCausalLM",
        text,
        ("logits",),
    ),
)
BY_NAME = {f.name: f for f in FAMILIES + MORE_FAMILIES}


@functools.cache
def build(name: str) -> Pair:
    """The pair for one family, built once per test session (torch seeded by the family name)."""
    family = BY_NAME[name]
    seed = sum(map(ord, name))
    torch.manual_seed(seed)
    config = family.config()
    torch_model = randomize_scaled(
        getattr(transformers, family.torch_class)(config), keep=family.fixed
    )
    flax_model = getattr(transformers, family.flax_class)(config, _do_init=False)
    inputs = family.inputs(np.random.default_rng(seed))
    with torch.no_grad():
        out = torch_model(
            **{
                k: torch.from_numpy(v).long() if v.dtype == np.int32 else torch.from_numpy(v)
                for k, v in inputs.items()
            }
        )
    expected = {n: getattr(out, n).detach().numpy() for n in family.outputs}
    return Pair(family, torch_model, flax_model, inputs, expected)


def transformers_conversion(pair: Pair, state: dict[str, torch.Tensor]) -> Any:
    """transformers' own converter (PyTorch state dict -> Flax params), the harness's reference.
    It reads the model's initialised params only for their names and shapes: zeros stand in."""
    zeros = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), pair.target)

    class Shapes:  # what convert_pytorch_state_dict_to_flax reads from a Flax model
        params = zeros
        base_model_prefix = pair.flax_model.base_model_prefix

    from transformers.modeling_flax_pytorch_utils import convert_pytorch_state_dict_to_flax

    numpy_state = {k: v.detach().clone() for k, v in state.items()}
    return convert_pytorch_state_dict_to_flax(numpy_state, Shapes)


def a_norm_weight(state: dict[str, torch.Tensor]) -> str:
    """The last normalisation weight in the state dict (a final norm: it reaches the outputs)."""
    return [k for k in state if re.search(r"(norm|ln)[^.]*\.weight$", k, re.IGNORECASE)][-1]
