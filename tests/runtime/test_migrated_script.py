"""End to end: `switcheroo fix` rewrites a half-ported training script (Flax model, torch checkpoint
still loaded with load_state_dict); the migrated file runs and matches torch doing the same step."""

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

SCRIPT = textwrap.dedent('''\
    """Fine-tune a small CNN classifier for one SGD step, starting from a PyTorch checkpoint."""
    import sys

    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch
    from flax import linen as nn


    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(4, (3, 3), padding="VALID", name="conv")(x)
            x = nn.relu(nn.BatchNorm(use_running_average=True, epsilon=1e-5, name="bn")(x))
            return nn.Dense(3, name="head")(x.mean(axis=(1, 2)))


    def main(checkpoint, data, out):
        net = Net()
        missing, unexpected = net.load_state_dict(torch.load(checkpoint, weights_only=True), strict=False)
        assert not missing and not unexpected, (missing, unexpected)
        batch = np.load(data)
        x, y = batch["x"], batch["y"]

        def loss_fn(params):
            logits = net.apply({"params": params, "batch_stats": variables["batch_stats"]}, x)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

        with jax.default_matmul_precision("highest"):
            loss, grads = jax.value_and_grad(loss_fn)(variables["params"])
            params = jax.tree.map(lambda p, g: p - 0.1 * g, variables["params"], grads)
            logits = net.apply({"params": params, "batch_stats": variables["batch_stats"]}, x)
        np.savez(out, loss=loss, logits=logits, head=params["head"]["kernel"])


    if __name__ == "__main__":
        main(*sys.argv[1:])
''')


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn, self.head = (
            torch.nn.Conv2d(3, 4, 3),
            torch.nn.BatchNorm2d(4),
            torch.nn.Linear(4, 3),
        )

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


@pytest.mark.parametrize("preamble", ["inline", "import"])
def test_migrated_training_script_runs_and_matches_torch(tmp_path: Path, preamble: str) -> None:
    net = randomize(TorchNet())
    torch.save(net.state_dict(), tmp_path / "ckpt.pt")
    x, y = torch.randn(5, 3, 6, 6), torch.tensor([0, 2, 1, 1, 0])
    np.savez(tmp_path / "batch.npz", x=x.permute(0, 2, 3, 1).numpy(), y=y.numpy())
    script = tmp_path / "finetune.py"
    script.write_text(SCRIPT)

    assert switcheroo(["fix", "--no-config", "--quiet", "--preamble", preamble, str(script)]) == 0
    migrated = script.read_text()
    assert "load_state_dict" not in migrated
    assert ("class KeyMapper" in migrated) == (preamble == "inline")
    package_root = str(Path(switcheroo_lsp.__file__).parent.parent)  # this very switcheroo_lsp
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, str(script), "ckpt.pt", "batch.npz", "out.npz"]
    subprocess.run(command, cwd=tmp_path, env=env, check=True)

    loss = torch.nn.functional.cross_entropy(net(x), y)  # the same step in torch (BN in eval mode)
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    result = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(result["loss"], loss.item(), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(result["logits"], net(x).detach().numpy(), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        result["head"], net.head.weight.detach().T.numpy(), atol=1e-5, rtol=1e-5
    )
