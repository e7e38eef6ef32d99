"""`switcheroo inspect`: the Flax tree a checkpoint becomes, from its headers alone (paths,
shapes, dtypes, counts and bytes per top-level module, what is ambiguous), as a table or
JSON; and the tree a converted checkpoint holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from cli_runner import run
from llama_checkpoint import llama_shapes, write_checkpoint
from llama_pair import save_sharded, torch_llama, write_target_file

SERVER = Path(__file__).parents[2] / "server"


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path, str]:
    folder = tmp_path_factory.mktemp("llama")
    model = torch_llama()
    return model, save_sharded(model.state_dict(), folder / "checkpoint"), write_target_file(folder)


def test_the_table_lists_each_flax_path_with_shape_dtype_and_torch_key(llama):
    model, index, spec = llama
    code, out, err = run("inspect", str(index), "--target", spec)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{index} (torch) -> Flax linen: 21 leaves, 19,616 parameters, 78.5 kB"
    row = next(line for line in lines if "layers_1/self_attn/k_proj/kernel" in line).split()
    assert row == [
        "params/model/layers_1/self_attn/k_proj/kernel", "32x16", "float32",
        "model.layers.1.self_attn.k_proj.weight", "[transpose(1,", "0)]",
    ]  # fmt: skip
    embedding = next(line for line in lines if "embed_tokens" in line).split()
    assert embedding[:4] == ["params/model/embed_tokens/embedding", "64x32", "float32",
                             "model.embed_tokens.weight"]  # fmt: skip
    table = lines[lines.index("per top-level module:") + 2 :]
    table = table[: next(i for i, line in enumerate(table) if not line.strip())]
    per_module = {line.split()[0]: line.split()[1:] for line in table}
    head = model.lm_head.weight.numel()
    assert per_module["lm_head"] == ["1", "leaf", f"{head:,}", "8.2", "kB"]
    body = sum(p.numel() for p in model.model.parameters())
    assert per_module["model"] == ["20", "leaves", f"{body:,}", "70.3", "kB"]
    assert per_module["total"][2] == f"{body + head:,}"
    assert "nothing ambiguous, nothing left over" in out


def test_json_has_every_leaf_the_modules_and_what_is_ambiguous(llama):
    model, index, _ = llama
    code, out, _ = run("inspect", str(index), "--format", "json")  # no target: shapes only
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == 1 and doc["kind"] == "torch" and doc["layout"] == "linen"
    state = model.state_dict()
    assert sorted(leaf["from"] for leaf in doc["leaves"]) == sorted(state)
    for leaf in doc["leaves"]:
        torch_shape = list(state[leaf["from"]].shape)
        assert sorted(leaf["shape"]) == sorted(torch_shape)
        assert leaf["parameters"] == state[leaf["from"]].numel()
        assert leaf["bytes"] == 4 * leaf["parameters"] and leaf["dtype"] == "float32"
        assert leaf["name"] == "/".join(map(str, leaf["path"]))
    assert {m["name"]: m["leaves"] for m in doc["modules"]} == {"model": 20, "lm_head": 1}
    assert doc["total"]["parameters"] == sum(t.numel() for t in state.values())
    ambiguous = doc["problems"]["ambiguous"]
    assert len(ambiguous) == 16  # every bias-free 2-D weight: Linear or Embedding?
    assert all("Linear or Embedding?" in item for item in ambiguous)


def test_nnx_layout_spells_layer_indices_as_integers(llama):
    _, index, _ = llama
    doc = json.loads(run("inspect", str(index), "--layout", "nnx", "--format", "json")[1])
    paths = [leaf["path"] for leaf in doc["leaves"]]
    assert ["model", "layers", 1, "mlp", "up_proj", "kernel"] in paths


@pytest.mark.parametrize("fmt", ["orbax", "safetensors"])
def test_a_converted_checkpoint_shows_the_tree_it_holds(fmt, llama, tmp_path):
    _, index, spec = llama
    out = tmp_path / "flax"
    args = ["convert", str(index), "--out", str(out), "--target", spec, "--format", fmt]
    assert run(*args, "--dtype", "bf16")[0] == 0
    code, text, _ = run("inspect", str(out))
    assert code == 0
    assert text.startswith(f"{out} (converted ({fmt})) -> Flax linen: 21 leaves, 19,616 parameters")
    row = next(line for line in text.splitlines() if "layers_0/down_proj" in line)
    assert row.split()[:3] == ["params/model/layers_0/down_proj/kernel", "48x32", "bfloat16"]
    doc = json.loads(run("inspect", str(out), "--format", "json")[1])
    assert {leaf["dtype"] for leaf in doc["leaves"]} == {"bfloat16"}
    assert doc["total"]["bytes"] == 2 * 19_616


def test_bad_input_gets_a_clear_message(tmp_path):
    code, _, err = run("inspect", str(tmp_path / "missing.safetensors"))
    assert code == 2 and "missing.safetensors: no such file or directory" in err
    folder = tmp_path / "empty"
    folder.mkdir()
    code, _, err = run("inspect", str(folder))
    assert code == 2 and "no checkpoint in it" in err


MEASURED = """
import json, sys
from switcheroo_lsp import cli
code = cli.main(["inspect", {index!r}, "--format", "json"], open("/dev/null", "w"))
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
peak = int(status["VmHWM"].split()[0]) * 1024  # since exec (ru_maxrss counts the parent)
print(json.dumps({{"code": code, "read": int(io["rchar"]), "peak": peak}}))
"""


def test_a_multi_gigabyte_checkpoint_is_inspected_without_reading_its_tensors(tmp_path):
    index = write_checkpoint(tmp_path / "llama", layers=4, shards=4)
    data = sum(os.path.getsize(p) for p in index.parent.glob("*.safetensors"))
    assert data > 2.2e9  # 2.3 GB of bf16 tensors, declared in the headers
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MEASURED.format(index=str(index)))],
        env={**os.environ, "PYTHONPATH": str(SERVER)}, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.splitlines()[-1])
    assert measured["code"] == 0
    # what the process read (Python's own imports included) and held, against 2.3 GB of data
    assert measured["read"] < data / 20, measured
    assert measured["peak"] < data / 10, measured
    assert len(llama_shapes(4)) == 39


WRONG_TARGET = """
import jax, jax.numpy as jnp

def target():
    return {"params": {"layers_0": {"kernel": jax.ShapeDtypeStruct((4, 7), jnp.float32),
                                    "bias": jax.ShapeDtypeStruct((7,), jnp.float32)},
                       "extra": {"scale": jax.ShapeDtypeStruct((3,), jnp.float32)}}}
"""


def test_against_a_target_what_does_not_fit_is_shown(tmp_path):
    source = tmp_path / "m.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 8)).state_dict(), source)
    (tmp_path / "port.py").write_text(WRONG_TARGET)
    code, out, _ = run("inspect", str(source), "--target", f"{tmp_path / 'port.py'}:target")
    assert code == 0
    assert "missing (" in out and "params/extra/scale" in out
    doc = json.loads(
        run(
            "inspect", str(source), "--target", f"{tmp_path / 'port.py'}:target", "--format", "json"
        )[1]
    )
    assert "params/extra/scale" in doc["problems"]["missing"]
    assert doc["problems"]["mismatched"] or doc["problems"]["unexpected"]
    assert "nothing ambiguous" not in out
