"""Checkpoint files, never user code: their headers read for the editor's previews
(`headers`, `torch_zip`, `flax_preview`), `switcheroo inspect` (the Flax tree a checkpoint becomes,
from its metadata) and `switcheroo convert` (the converted tree written once, as orbax or
safetensors). The mapping itself is the KeyMapper's; this package only reads its plan and writes
files."""
