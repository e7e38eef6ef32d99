"""End to end with several models: `switcheroo fix` rewrites a half-ported script that loads an
encoder and a decoder on `self`, a head twice (base weights, then a partial update: a merge), a
copy of that head (a target network) and a head through a helper taking the model as a parameter;
the migrated script runs and every tree reaches the code that uses it (outputs equal torch's)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_oracle import randomize

import switcheroo_lsp
from switcheroo_lsp.cli import main as switcheroo

# What a user porting the script writes: Flax modules in place of the torch ones, and the code
# after each load already reading the tree the rewrite binds (names follow the receivers).
SCRIPT = textwrap.dedent('''\
    """Encode, decode, score with a fine-tuned head and its target copy."""
    import sys

    import jax
    import numpy as np
    import torch
    from flax import linen as nn


    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.relu(nn.Dense(8, name="fc")(x))


    class Decoder(nn.Module):
        @nn.compact
        def __call__(self, h):
            return nn.Dense(3, name="out")(h)


    class Head(nn.Module):
        @nn.compact
        def __call__(self, y):
            return nn.Dense(3, name="fc2")(nn.relu(nn.Dense(6, name="fc1")(y)))


    class Pipeline:
        def __init__(self, encoder_path, decoder_path):
            self.encoder = Encoder()
            self.decoder = Decoder()
            self.encoder.load_state_dict(torch.load(encoder_path, weights_only=True))
            self.decoder.load_state_dict(
                torch.load(decoder_path, weights_only=True),
                strict=True,
            )

        def __call__(self, x):
            h = self.encoder.apply(self.encoder_variables, x)
            return self.decoder.apply(self.decoder_variables, h)


    def load_head(head, path):
        head.load_state_dict(torch.load(path, weights_only=True))


    def main(encoder_path, decoder_path, base_path, update_path, data, out):
        pipeline = Pipeline(encoder_path, decoder_path)
        head = Head()
        head.load_state_dict(torch.load(base_path, weights_only=True), strict=False)
        head.load_state_dict(torch.load(update_path, weights_only=True), strict=False)
        target_head = Head()
        target_head.load_state_dict(head.state_dict())
        base_variables = load_head(Head(), base_path)
        with jax.default_matmul_precision("highest"):
            y = pipeline(np.load(data))
            np.savez(
                out,
                y=y,
                head=head.apply(head_variables, y),
                target=target_head.apply(target_head_variables, y),
                base=Head().apply(base_variables, y),
            )


    if __name__ == "__main__":
        main(*sys.argv[1:])
''')

# Each call and what it must become (the table a reader checks the migration against).
EXPECTED_LINES = [
    "self.encoder_variables = KeyMapper.from_torch(torch.load(encoder_path, weights_only=True))",
    "self.decoder_variables = KeyMapper.from_torch(",
    "return KeyMapper.from_torch(torch.load(path, weights_only=True))",
    "head_variables = KeyMapper.from_torch(torch.load(base_path, weights_only=True), strict=False)",
    "head_variables = KeyMapper.from_torch(torch.load(update_path, weights_only=True), "
    "target=head_variables, strict=False)",
    "target_head_variables = head_variables",
]


class TorchHead(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(3, 6), torch.nn.Linear(6, 3)

    def forward(self, y):
        return self.fc2(torch.relu(self.fc1(y)))


def test_every_tree_of_a_migrated_multi_model_script_reaches_its_user(tmp_path: Path) -> None:
    encoder = randomize(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU()))
    decoder = randomize(torch.nn.Linear(8, 3))
    head, update = randomize(TorchHead()), randomize(TorchHead())
    torch.save({"fc." + k[2:]: v for k, v in encoder.state_dict().items()}, tmp_path / "enc.pt")
    torch.save({"out." + k: v for k, v in decoder.state_dict().items()}, tmp_path / "dec.pt")
    torch.save(head.state_dict(), tmp_path / "base.pt")
    partial = {k: v for k, v in update.state_dict().items() if k.startswith("fc2.")}
    torch.save(partial, tmp_path / "update.pt")  # only fc2: the merge keeps the base's fc1
    x = torch.randn(5, 4)
    np.save(tmp_path / "x.npy", x.numpy())
    script = tmp_path / "score.py"
    script.write_text(SCRIPT)

    assert switcheroo(["fix", "--no-config", "--quiet", str(script)]) == 0  # KeyMapper inlined
    migrated = script.read_text()
    assert "load_state_dict" not in migrated
    lines = [line.strip() for line in migrated.splitlines()]
    for expected in EXPECTED_LINES:
        assert expected in lines, expected
    package_root = str(Path(switcheroo_lsp.__file__).parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, str(script), "enc.pt", "dec.pt", "base.pt", "update.pt", "x.npy"]
    subprocess.run([*command, "out.npz"], cwd=tmp_path, env=env, check=True)

    with torch.no_grad():
        y = decoder(encoder(x))
        base_out = head(y).numpy()
        head.load_state_dict(partial, strict=False)  # what torch does: fc2 replaced, fc1 kept
        merged_out = head(y).numpy()
    result = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(result["y"], y.numpy(), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(result["head"], merged_out, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(result["target"], merged_out, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(result["base"], base_out, atol=1e-5, rtol=1e-5)
    assert not np.allclose(base_out, merged_out, atol=1e-3)  # the merge is visible


def test_target_keeps_the_earlier_trees_leaves_the_checkpoint_lacks() -> None:
    """`from_torch(update, target=tree)`: what torch's `load_state_dict(update, strict=False)`
    does to a loaded model: leaves in the update replaced, the others kept as they were."""
    from switcheroo_lsp.runtime import KeyMapper

    base, update = randomize(TorchHead()), randomize(TorchHead())
    tree = KeyMapper.from_torch(base.state_dict())
    fc2_only = {k: v for k, v in update.state_dict().items() if k.startswith("fc2.")}
    with pytest.warns(UserWarning, match="missing"):
        merged = KeyMapper.from_torch(fc2_only, target=tree, strict=False)
    params = merged["params"]
    np.testing.assert_array_equal(params["fc1"]["kernel"], base.fc1.weight.detach().numpy().T)
    np.testing.assert_array_equal(params["fc1"]["bias"], base.fc1.bias.detach().numpy())
    np.testing.assert_array_equal(params["fc2"]["kernel"], update.fc2.weight.detach().numpy().T)
    np.testing.assert_array_equal(params["fc2"]["bias"], update.fc2.bias.detach().numpy())


def test_target_reports_adapter_keys_the_model_lacks_and_places_none_of_them() -> None:
    """A LoRA-style second checkpoint: keys the model has replace its leaves, keys it lacks are
    unexpected (as torch's strict=False report says), never moved into the model's other slots."""
    from switcheroo_lsp.runtime import KeyMapper

    base = randomize(TorchHead())
    tree = KeyMapper.from_torch(base.state_dict())
    adapter = {
        "fc1.lora_A.weight": torch.randn(2, 3),
        "fc1.lora_B.weight": torch.randn(6, 2),
        "fc2.weight": torch.randn(3, 6),
    }
    with pytest.warns(UserWarning):
        merged, report = KeyMapper.from_torch(
            adapter, target=tree, strict=False, return_report=True
        )
    assert sorted(report.unexpected_keys) == ["fc1.lora_A.weight", "fc1.lora_B.weight"]
    params = merged["params"]
    np.testing.assert_array_equal(params["fc1"]["kernel"], base.fc1.weight.detach().numpy().T)
    np.testing.assert_array_equal(params["fc2"]["kernel"], adapter["fc2.weight"].numpy().T)
    np.testing.assert_array_equal(params["fc2"]["bias"], base.fc2.bias.detach().numpy())
