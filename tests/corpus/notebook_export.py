# %% [markdown]
# # Evaluate the exported checkpoint
# Exported from a notebook: top-level code runs cell by cell.

# %%
import torch

from zoo import VisionTransformer

# %%
vit = VisionTransformer(patch_size=16, depth=12)
vit.load_state_dict(torch.load("vit_b16.pt"))
vit.eval()

# %%
with torch.no_grad():
    logits = vit(torch.randn(1, 3, 224, 224))
print(logits.argmax(-1))
