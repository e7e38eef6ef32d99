"""checkpoints.flax_preview: the Flax tree made from headers alone is the tree KeyMapper makes from
the real tensors (same paths, shapes, dtypes, transforms, problems), without jax, torch or data."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from checkpoint_files import SMALL_MODEL, llama_like, write_safetensors, write_sharded
from switcheroo_lsp.checkpoints.flax_preview import (
    hover_markdown,
    lens_title,
    preview,
    strict_message,
    tree_text,
)
from switcheroo_lsp.checkpoints.headers import read_header
from switcheroo_lsp.runtime.keymapper import KeyMapper

torch = pytest.importorskip("torch")


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 8, 3)
        self.norm = torch.nn.BatchNorm2d(8)
        self.embed = torch.nn.Embedding(50, 16)
        self.attn = torch.nn.MultiheadAttention(16, 4)
        self.rnn = torch.nn.LSTM(16, 12, num_layers=2)
        self.head = torch.nn.Linear(16, 5)


def randomised_state() -> dict[str, object]:
    torch.manual_seed(1)
    net = Net()
    net.head.to(torch.bfloat16)
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor))
    return net.state_dict()


def as_rows(entries: list[object]) -> list[tuple[str, tuple[int, ...], str, str, str]]:
    import numpy as np

    return [
        (
            "/".join(map(str, e.path)),  # type: ignore[attr-defined]
            tuple(e.shape),  # type: ignore[attr-defined]
            np.dtype(e.dtype).name,  # type: ignore[attr-defined]
            e.key,  # type: ignore[attr-defined]
            e.transform,  # type: ignore[attr-defined]
        )
        for e in entries
    ]


@pytest.mark.parametrize("kind", ["safetensors", "pt"])
def test_the_preview_is_the_plan_of_the_real_tensors(tmp_path: Path, kind: str) -> None:
    state = randomised_state()
    if kind == "safetensors":
        from safetensors.torch import save_file

        path = tmp_path / "net.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        path = tmp_path / "net.pt"
        torch.save(state, path)
    real = KeyMapper.plan(str(path))  # what from_torch(path) does: it reads the data

    seen = preview(read_header(path))

    assert [(x.path, x.shape, x.dtype, x.key, x.transform) for x in seen.leaves] == as_rows(
        real.entries
    )
    assert seen.ambiguous == tuple(real.report.ambiguous)
    assert seen.dropped == tuple(real.report.dropped)
    assert seen.report == repr(real.report)
    assert strict_message(seen) == (
        "with strict=True KeyMapper.from_torch would raise: "
        + "; ".join(repr(real.report).splitlines())
    )


def test_a_training_checkpoint_part_is_selected_by_its_keys(tmp_path: Path) -> None:
    state = randomised_state()
    path = tmp_path / "last.pt"
    torch.save({"net": state, "epoch": 3}, path)

    part = preview(read_header(path), ("net",))

    assert [x.key for x in part.leaves] == [e.key for e in KeyMapper.plan(state).entries]
    with pytest.raises(KeyError):
        preview(read_header(path), ("ema",))


def test_hover_lens_and_tree_texts_of_a_small_model(tmp_path: Path) -> None:
    seen = preview(read_header(write_safetensors(tmp_path / "m.safetensors", SMALL_MODEL)))

    assert (
        lens_title(seen) == "10 tensors -> 9 Flax leaves · 13.0 kB bf16 · 1 ambiguous · 1 dropped"
    )
    hover = hover_markdown(seen)
    assert (
        "10 tensors -> 9 Flax leaves (linen) · 13.0 kB · bf16 11.9 kB, f32 1.0 kB, i64 8 B" in hover
    )
    assert "| `encoder_0` | 2.1 k | bf16 |" in hover
    assert "| `encoder_1` | 256 | f32 |" in hover
    assert "- `params/encoder_0/bias` 64 bf16" in hover
    assert (
        "**Ambiguous (1)**\n- `embed.weight (100, 32): Linear or Embedding? (pass target=)`"
        in hover
    )
    assert "**Dropped (1)**\n- `encoder.1.num_batches_tracked`" in hover
    tree = tree_text(seen)
    assert "params\n  encoder_0\n    bias  64  bfloat16  <- encoder.0.bias\n" in tree
    assert "    kernel  32×64  bfloat16  <- encoder.0.weight [transpose(1, 0)]\n" in tree
    assert "batch_stats\n  encoder_1\n    mean  64  float32  <- encoder.1.running_mean\n" in tree
    assert tree.count("params\n") == 1 and tree.index("params\n") < tree.index("batch_stats\n")
    assert "strict=True would raise:\n  ambiguous (1): embed.weight" in tree


def test_a_huge_sharded_checkpoint_is_planned_without_jax_torch_or_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = write_sharded(tmp_path, llama_like(layers=32), shards=8)
    for name in ("jax", "torch", "flax"):
        monkeypatch.setitem(sys.modules, name, None)  # importing any of them now fails

    tracemalloc.start()
    seen = preview(read_header(index))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert seen.has_tree, seen.note
    # 2-D weights without a bias: Linear or Embedding, the shapes cannot say (KeyMapper's verdict)
    assert lens_title(seen) == "291 tensors -> 291 Flax leaves · 13.7 GB bf16 · 226 ambiguous"
    assert peak < 50_000_000, f"{peak} bytes traced: tensor data was made"
    first = seen.leaves[0]
    assert (first.path, first.shape, first.dtype) == (
        "params/model/embed_tokens/kernel",
        (4096, 32000),
        "bfloat16",
    )


def test_without_numpy_the_header_summary_says_how_to_get_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_safetensors(tmp_path / "m.safetensors", SMALL_MODEL)
    monkeypatch.setitem(sys.modules, "numpy", None)

    seen = preview(read_header(path))

    assert not seen.has_tree and seen.leaves == ()
    hover = hover_markdown(seen)
    assert "10 tensors · 13.0 kB · bf16 11.9 kB, f32 1.0 kB, i64 8 B" in hover
    assert "`pip install numpy ml_dtypes`" in hover and "switcheroo inspect" in hover
    assert lens_title(seen) == "10 tensors · 13.0 kB bf16 · no Flax preview"
    assert "encoder.0.weight  64×32  bfloat16" in tree_text(seen)
