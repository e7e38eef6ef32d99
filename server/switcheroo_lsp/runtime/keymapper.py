"""KeyMapper: turn PyTorch state dicts into Flax variable trees (linen or NNX).

This module is the source of the preamble that switcheroo inlines into migrated files: it imports only
numpy and jax at module level, everything else lazily, and keeps every helper inside the class.
"""

import jax
import jax.numpy as jnp
import numpy as np


class KeyMapper:
    """Convert a torch state dict into Flax variables, reading each layer's type from its own keys.

    Rules (checked numerically against torch): Linear weight.T -> kernel; Conv/ConvTranspose weight
    (O, I/g, *k) -> kernel (*k, I/g, O); norms weight -> scale, running_mean/var -> batch_stats mean/var
    (NNX: beside scale/bias), num_batches_tracked dropped; Embedding weight -> embedding (never
    transposed); MultiheadAttention in_proj -> query/key/value (E, H, D), out_proj -> out (H, D, E);
    LSTM/GRU/RNN gates split with b_ih + b_hh summed as the Flax cells expect.
    Results may share memory with the input tensors (zero copy): do not mutate those in place later.
    """

    _RNN_LEAF = r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?"
    _BUFFERS = {"running_mean": ("mean", "batch_stats"), "running_var": ("var", "batch_stats")}
    # What a `weight` is, from its rank and siblings; first match wins, several names = ambiguous.
    _WEIGHT_RULES = (
        (
            lambda w, g: "running_mean" in g or w.ndim == 1,
            ("scale",),
        ),  # BatchNorm, LayerNorm, GroupNorm
        (
            lambda w, g: "bias" in g and g["bias"][1].shape == w.shape,
            ("scale",),
        ),  # LayerNorm((a, b))
        (lambda w, g: w.ndim >= 2 and "bias" in g, ("kernel",)),  # Linear, Conv*, ConvTranspose*
        (lambda w, g: w.ndim >= 3, ("kernel",)),  # Conv without bias
        (lambda w, g: w.ndim == 2, ("kernel", "embedding")),  # Linear(bias=False) or Embedding
        (lambda w, g: True, ("weight",)),
    )
    # RNN cells by gate count: gate letters and where each gate's torch biases go in the Flax cell
    # (h: b_ih + b_hh on the hidden dense, i: the sum on the input dense, *: b_ih on input, b_hh on hidden).
    _CELLS = {4: ("ifgo", "hhhh"), 3: ("rzn", "ii*"), 1: ("", "i")}
    _SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                           "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?", "BF16": "bfloat16",
                           "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}  # fmt: skip

    class Report:
        """What could not be placed exactly. Unpacks like torch's `_IncompatibleKeys`:
        `missing, unexpected = report`; `.missing_keys`, `.unexpected_keys`, `.mismatched`
        (torch key, flax path, converted shape, target shape), plus `.ambiguous`, `.renamed`, `.dropped`."""

        def __init__(self) -> None:
            self.missing_keys: list[str] = []
            self.unexpected_keys: list[str] = []
            self.mismatched: list[tuple] = []
            self.ambiguous: list[str] = []
            self.renamed: list[tuple[str, str]] = []
            self.dropped: list[str] = []

        def __iter__(self):
            return iter((self.missing_keys, self.unexpected_keys))

        def __bool__(self) -> bool:
            return bool(self.missing_keys or self.unexpected_keys or self.mismatched)

        def __str__(self) -> str:
            parts = [("missing in checkpoint", self.missing_keys),
                     ("unexpected in checkpoint", self.unexpected_keys),
                     ("shape mismatch", [f"{k} -> {p}: {s} vs target {t}" for k, p, s, t in self.mismatched]),
                     ("ambiguous", self.ambiguous)]  # fmt: skip
            return (
                "\n".join(f"{t} ({len(v)}): " + "; ".join(v) for t, v in parts if v)
                or "all keys mapped"
            )

        __repr__ = __str__

    @classmethod
    def from_torch(cls, state, *, target=None, layout="linen", strict=False, num_heads=None,
                   return_report=False):  # fmt: skip
        """Flax variables for `state` (torch/numpy/jax state dict, or a .safetensors/.pt/.pth/.bin path).

        layout="linen" gives {"params": ..., "batch_stats": ...}; "nnx" a pure dict for
        nnx.replace_by_pure_dict. `target` (arrays or ShapeDtypeStructs, e.g. jax.eval_shape(model.init,
        ...), or an NNX module/state) fixes names, shapes, structure and dtypes; its concrete arrays are
        kept for missing keys. strict=True raises one ValueError listing every problem; otherwise they
        are warned once. `num_heads` shapes attention kernels when there is no target.
        return_report=True returns (variables, report); the report unpacks as (missing, unexpected).
        """
        if layout not in ("linen", "nnx"):
            raise ValueError(f'layout must be "linen" or "nnx", not {layout!r}')
        if target is not None and type(target).__module__.startswith("flax.nnx"):
            from flax import nnx

            if isinstance(target, nnx.Module):
                target = nnx.state(target, (nnx.Param, nnx.BatchStat))
            target, layout = nnx.to_pure_dict(target), "nnx"
        report = cls.Report()
        units = cls._units(cls._load(state, report), layout, num_heads, report)
        if target is None:
            tree = cls._place_default(units, layout)
        else:
            tree = cls._place_target(units, target, layout, report)
        if strict and report:
            raise ValueError(f"checkpoint does not fit the model:\n{report}")
        if report or report.ambiguous:
            import warnings

            warnings.warn(f"KeyMapper.from_torch:\n{report}", stacklevel=2)
        return (tree, report) if return_report else tree

    @classmethod
    def map_name(cls, key, ndim=2, *, layout="linen"):
        """Flax paths that one torch tensor of rank `ndim` goes to, read from the key alone."""
        return tuple(cls.map_value(key, np.empty((0,) * ndim, np.float32), layout=layout))

    @classmethod
    def map_value(cls, key, value, *, layout="linen"):
        """{flax path: array} for one tensor on its own (a 2-D `weight` counts as Linear)."""
        units = cls._units({key: cls._array(key, value)}, layout, None, cls.Report())
        first = cls._place_default(units[:1], layout) if units else {}
        out = {}
        cls._walk(first, (), lambda p, v: out.__setitem__(p, v))
        return out

    @classmethod
    def _load(cls, state, report):
        import os

        if isinstance(state, (str, os.PathLike)):
            path = os.fspath(state)
            state = (
                cls._read_safetensors(path)
                if path.endswith(".safetensors")
                else cls._read_torch(path)
            )
        if callable(getattr(state, "state_dict", None)):
            state = state.state_dict()
        if not hasattr(state, "items"):
            raise TypeError(f"expected a state dict or checkpoint path, got {type(state).__name__}")
        for wrapper in ("state_dict", "model_state_dict", "model"):  # training checkpoints
            if hasattr(state.get(wrapper), "items"):
                report.dropped += [f"{k} (beside {wrapper!r})" for k in state if k != wrapper]
                state = state[wrapper]
                break
        flat: dict = {}
        cls._walk(state, (), lambda p, v: flat.__setitem__(".".join(map(str, p)), v))
        if not flat:
            raise ValueError("empty state dict: no tensors to convert")
        return {k: cls._array(k, v) for k, v in flat.items()}

    @staticmethod
    def _array(key, value):
        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            import torch

            value = value.detach()
            try:
                value = value.cpu()
                if value.dtype == torch.bfloat16:
                    import ml_dtypes

                    return value.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
                return value.numpy()
            except (TypeError, RuntimeError, NotImplementedError) as e:
                raise TypeError(f"{key!r}: cannot read this {value.dtype} tensor: {e}") from None
        if isinstance(value, (np.ndarray, np.generic, jax.Array)):
            return np.asarray(value)
        raise TypeError(f"{key!r} holds a {type(value).__name__}, not a tensor or array")

    @staticmethod
    def _read_torch(path):
        import torch

        try:
            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as e:  # legacy (non-zip) files cannot be memory-mapped
                if "mmap" not in str(e):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as e:
            raise ValueError(
                f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})"
            ) from None

    @classmethod
    def _read_safetensors(cls, path):
        import json
        import os

        import ml_dtypes

        raw = np.memmap(path, np.uint8, "r") if os.path.getsize(path) else np.zeros(0, np.uint8)
        try:
            n = int(raw[:8].view("<u8")[0])
            header = json.loads(bytes(raw[8 : 8 + n]))
            out = {}
            for key, info in header.items():
                if key == "__metadata__":
                    continue
                name = cls._SAFETENSORS_DTYPES[info["dtype"]]
                dtype = np.dtype(getattr(ml_dtypes, name, name))
                start, end = (8 + n + int(o) for o in info["data_offsets"])
                shape = tuple(int(s) for s in info["shape"])
                if end > raw.size or end - start != dtype.itemsize * int(np.prod(shape)):
                    raise ValueError(f"tensor {key!r} runs past the data")
                out[key] = np.asarray(raw[start:end]).view(dtype).reshape(shape)
            return out
        except Exception as e:
            raise ValueError(
                f"{path}: corrupt safetensors file ({type(e).__name__}: {e})"
            ) from None

    @classmethod
    def _walk(cls, tree, prefix, visit):
        for k, v in tree.items():
            cls._walk(v, (*prefix, k), visit) if hasattr(v, "items") else visit((*prefix, k), v)

    @staticmethod
    def _path(parts, layout):
        """Torch module path -> Flax path: `a.0.b` is `a_0/b` in linen, `a/0/b` in NNX."""
        out: list = []
        for p in parts:
            if not p.isdigit():
                out.append(p)
            elif layout == "nnx":
                out += [int(p)] if out else ["layers", int(p)]
            else:
                out.append(f"{out.pop() if out else 'layers'}_{p}")
        return tuple(out)

    @classmethod
    def _units(cls, flat, layout, num_heads, report):
        """Group keys by module and read each module's type from its keys: units of Flax leaves
        (each leaf spec = (collection, array, transpose permutation, torch key, reshapeable))."""
        import re

        groups: dict = {}
        for key, arr in flat.items():
            parts = [p for p in key.split(".") if p != "_orig_mod"]
            while parts[:1] == ["module"] and len(parts) > 1:
                parts = parts[1:]
            group = groups.setdefault(tuple(parts[:-1]), {})
            if parts[-1] in group:
                raise ValueError(
                    f"{group[parts[-1]][0]!r} and {key!r} are the same tensor after prefix stripping"
                )
            group[parts[-1]] = (key, arr)
        units = []
        for mod in list(groups):
            g = groups.pop(mod, None)
            if g is None:
                continue
            rnn = {n: v for n, v in g.items() if re.fullmatch(cls._RNN_LEAF, n)}
            if rnn:
                units += cls._rnn_units(mod, rnn, layout, report)
                g = {n: v for n, v in g.items() if n not in rnn}
            if "in_proj_weight" in g or "q_proj_weight" in g:
                g.update(
                    {f"out_proj.{n}": v for n, v in groups.pop((*mod, "out_proj"), {}).items()}
                )
                units.append(cls._attention_unit(mod, g, layout, num_heads, report))
            elif g:
                units.append(cls._plain_unit(mod, g, layout, report))
        return units

    @classmethod
    def _unit(cls, parts, layout, forms, keys, name=None):
        prefix = cls._path(parts, layout)
        name = name or ".".join(parts) or "<top level>"
        return {
            "prefix": prefix,
            "tokens": cls._tokens(prefix),
            "forms": forms,
            "keys": keys,
            "name": name,
        }

    @staticmethod
    def _tokens(path):
        return [t for c in path for t in str(c).lower().split("_") if t]

    @classmethod
    def _plain_unit(cls, mod, g, layout, report):
        leaves, names = {}, ("weight",)
        for name, (key, arr) in g.items():
            if name == "num_batches_tracked":
                report.dropped.append(key)
            elif name == "weight":
                names = next(ns for test, ns in cls._WEIGHT_RULES if test(arr, g))
            else:
                flax_name, coll = cls._BUFFERS.get(name, (name, "params"))
                leaves[(flax_name,)] = (coll, arr, None, key, False)
        if "weight" in g:
            key, w = g["weight"]
            if names == ("scale",) and any(v[1].shape != w.shape for v in g.values() if v[1].ndim):
                raise ValueError(f"{key!r}: shape {w.shape} differs from its norm siblings'")
            if names[0] == "kernel" and "bias" in g and g["bias"][1].shape != w.shape[:1]:
                raise ValueError(
                    f"{g['bias'][0]!r}: shape {g['bias'][1].shape} does not fit {key!r} {w.shape}"
                )
            if len(names) > 1:
                report.ambiguous.append(
                    f"{key} {w.shape} without bias: Linear or Embedding? (pass target=)"
                )
            perm = tuple(range(2, w.ndim)) + (1, 0)
            tr = {"kernel": perm, "embedding": None, "scale": None, "weight": None}
            forms = [({**leaves, (n,): ("params", w, tr[n], key, False)}, []) for n in names]
        else:
            forms = [(leaves, [])]
        return cls._unit(mod, layout, forms, [k for k, _ in g.values()])

    @classmethod
    def _attention_unit(cls, mod, g, layout, num_heads, report):
        get = lambda n: g[n][1] if n in g else None  # noqa: E731
        if "in_proj_weight" in g:
            key, w = g["in_proj_weight"]
            if w.shape[0] % 3:
                raise ValueError(f"{key!r}: {w.shape[0]} rows cannot split into query, key, value")
            e = w.shape[0] // 3
            ws = [(key, w[i * e : (i + 1) * e]) for i in range(3)]
        else:
            ws = [g[f"{n}_proj_weight"] for n in "qkv"]
            e = ws[0][1].shape[0]
        b = get("in_proj_bias")
        leaves = {}
        for i, name in enumerate(("query", "key", "value")):
            leaves[(name, "kernel")] = ("params", ws[i][1], (1, 0), ws[i][0], True)
            if b is not None:
                leaves[(name, "bias")] = (
                    "params",
                    b[i * e : (i + 1) * e],
                    None,
                    g["in_proj_bias"][0],
                    True,
                )
        for n, flax_name, perm in (("weight", "kernel", (1, 0)), ("bias", "bias", None)):
            if f"out_proj.{n}" in g:
                leaves[("out", flax_name)] = (
                    "params",
                    get(f"out_proj.{n}"),
                    perm,
                    g[f"out_proj.{n}"][0],
                    True,
                )
        for n in ("bias_k", "bias_v"):
            if n in g:
                report.unexpected_keys.append(f"{g[n][0]} (add_bias_kv has no Flax equivalent)")
        if num_heads and e % num_heads:
            raise ValueError(
                f"{'.'.join(mod)}: embed dim {e} is not divisible by num_heads={num_heads}"
            )
        if (
            num_heads
        ):  # linen/NNX attention keep heads as their own axis: (E, H, D), (H, D), (H, D, E)
            h, out = num_heads, {}
            for r, (coll, arr, perm, key, _) in leaves.items():
                s = arr.shape[::-1] if perm else arr.shape
                shape = (
                    (h, s[0] // h, *s[1:]) if r[0] == "out" or len(s) == 1 else (s[0], h, s[1] // h)
                )
                out[r] = (coll, arr, perm, key, shape if r != ("out", "bias") else True)
            leaves = out
        else:
            report.ambiguous.append(
                f"{'.'.join(mod)}: attention heads unknown (pass num_heads= or target=)"
            )
        return cls._unit(mod, layout, [(leaves, [])], [k for k, _ in g.values() if k])

    @classmethod
    def _rnn_units(cls, mod, leaves, layout, report):
        import re

        cells: dict = {}
        for name, (key, arr) in leaves.items():
            kind, side, layer, rev = re.fullmatch(cls._RNN_LEAF, name).groups()
            if side == "hr":
                raise ValueError(f"{key!r}: LSTM proj_size has no Flax equivalent")
            cells.setdefault((int(layer), bool(rev)), {})[f"{kind}_{side}"] = (key, arr)
        layers, bidirectional, units = len({n for n, _ in cells}), any(r for _, r in cells), []
        for (layer, rev), c in sorted(cells.items()):
            where = f"{'.'.join(mod)} layer {layer}{' reverse' if rev else ''}"
            if "weight_ih" not in c or "weight_hh" not in c:
                raise ValueError(
                    f"{where}: weight_ih and weight_hh are both needed, found only {sorted(c)}"
                )
            (ki, wi), (kh, wh) = c["weight_ih"], c["weight_hh"]
            hid = wh.shape[1] if wh.ndim == 2 else 0
            gates = wi.shape[0] // max(hid, 1)
            if (
                gates not in cls._CELLS
                or wi.ndim != 2
                or wi.shape[0] != gates * hid
                or wh.shape != (gates * hid, hid)
            ):
                raise ValueError(
                    f"{ki!r} {wi.shape} and {kh!r} {wh.shape} are not LSTM, GRU or RNN weights"
                )
            zero = np.zeros(gates * hid, wi.dtype)
            (kbi, bi), (kbh, bh) = c.get("bias_ih", ("", zero)), c.get("bias_hh", ("", zero))
            for k, b in ((kbi, bi), (kbh, bh)):
                if b.shape != zero.shape:
                    raise ValueError(f"{k!r}: shape {b.shape}, expected {zero.shape}")
            bsum, ksum, (letters, place) = bi + bh, f"{kbi}+{kbh}".strip("+"), cls._CELLS[gates]
            part = lambda a, j, h=hid: a[j * h : (j + 1) * h]  # noqa: E731
            leaf = lambda a, key, perm=None: ("params", a, perm, key, False)  # noqa: E731
            per_gate = {}  # linen cells and nnx.LSTMCell: one dense per gate and side
            for j, (letter, bias_side) in enumerate(zip(letters or " ", place, strict=True)):
                name_i = "if_" if layout == "nnx" and letter == "f" else f"i{letter}".strip()
                name_h = f"h{letter}".strip()
                per_gate[(name_i, "kernel")] = leaf(part(wi, j), ki, (1, 0))
                per_gate[(name_h, "kernel")] = leaf(part(wh, j), kh, (1, 0))
                if bias_side == "*":
                    per_gate[(name_i, "bias")] = leaf(part(bi, j), kbi)
                    per_gate[(name_h, "bias")] = leaf(part(bh, j), kbh)
                else:
                    per_gate[(name_i if bias_side == "i" else name_h, "bias")] = leaf(
                        part(bsum, j), ksum
                    )
            # nnx.OptimizedLSTMCell, nnx.GRUCell, nnx.SimpleCell: one dense per side, gates concatenated
            fused = {
                ("dense_i", "kernel"): leaf(wi, ki, (1, 0)),
                ("dense_h", "kernel"): leaf(wh, kh, (1, 0)),
            }
            if place[0] == "h":
                fused[("dense_h", "bias")] = leaf(bsum, ksum)
            else:
                sums = [part(bsum if s == "i" else bi, j) for j, s in enumerate(place)]
                fused[("dense_i", "bias")] = leaf(np.concatenate(sums), ksum)
            lost = [f"{kbh} (nnx.GRUCell has no hidden bias for the n gate)"] if any(
                np.any(part(bh, j)) for j, s in enumerate(place) if s == "*") else []  # fmt: skip
            forms = (
                [(per_gate, []), (fused, lost)] if gates == 4 else [(fused, lost), (per_gate, [])]
            )
            forms = forms if layout == "nnx" else [(per_gate, [])]
            direction = [("backward_rnn" if rev else "forward_rnn")] if bidirectional else []
            parts = [*mod, *(["layers", str(layer)] if layers > 1 else []), *direction, "cell"]
            units.append(cls._unit(parts, layout, forms, [k for k, _ in c.values()], where))
        return units

    @staticmethod
    def _shape(spec):
        return tuple(spec[1].shape[i] for i in spec[2]) if spec[2] else tuple(spec[1].shape)

    @classmethod
    def _fits(cls, spec, slot):
        """Same shape, or (attention) the same axes with the head axis split or merged."""
        s, t = cls._shape(spec), tuple(slot.shape)
        if s == t or spec[4] is False or int(np.prod(s)) != int(np.prod(t)):
            return s == t
        i = 0
        for d in s:
            p = 1
            while p < d and i < len(t):
                p, i = p * t[i], i + 1
            if p != d:
                return False
        return i == len(t)

    @staticmethod
    def _make(spec, shape=None, dtype=None):
        """One Flax leaf: XLA transposes big tensors (numpy small ones), then reshape and cast."""
        arr, perm, reshape = spec[1], spec[2], spec[4]
        fits_jax = jax.dtypes.canonicalize_dtype(arr.dtype) == arr.dtype  # 64-bit stays numpy
        if perm and fits_jax and arr.size >= 1 << 16:
            x = jnp.transpose(jax.device_put(np.ascontiguousarray(arr)), perm)
        else:
            x = np.ascontiguousarray(arr.transpose(perm)) if perm else arr
        shape = shape if shape is not None else reshape if isinstance(reshape, tuple) else None
        x = x if shape is None or tuple(x.shape) == tuple(shape) else x.reshape(shape)
        x = x if dtype is None or x.dtype == dtype else x.astype(dtype)
        fits_jax = jax.dtypes.canonicalize_dtype(x.dtype) == x.dtype
        return jax.device_put(x) if fits_jax and not isinstance(x, jax.Array) else x

    @classmethod
    def _place_default(cls, units, layout, report=None):
        tree: dict = {}
        for u in units:
            leaves, lost = u["forms"][0]
            if report is not None:
                report.unexpected_keys += lost
            for rel, spec in leaves.items():
                node, path = tree, ((spec[0],) if layout == "linen" else ()) + u["prefix"] + rel
                for k in path[:-1]:
                    node = node.setdefault(k, {})
                    if not isinstance(node, dict):
                        raise ValueError(
                            f"{spec[3]!r} collides with another tensor at {'/'.join(map(str, path))}"
                        )
                if path[-1] in node:
                    raise ValueError(
                        f"{spec[3]!r} collides with another tensor at {'/'.join(map(str, path))}"
                    )
                node[path[-1]] = cls._make(spec)
        return tree

    @classmethod
    def _similarity(cls, a, path):
        """Longest common subsequence of name tokens (`embed` ~ `embedding`): ranks renamed layers."""
        row = [0] * (len(b := cls._tokens(path)) + 1)
        for x in a:
            prev = row[:]
            for j, y in enumerate(b):
                same = x == y or min(len(x), len(y)) >= 3 and (x.startswith(y) or y.startswith(x))
                row[j + 1] = prev[j] + 1 if same else max(prev[j + 1], row[j])
        return row[-1]

    @classmethod
    def _place_target(cls, units, target, layout, report):
        """Put every unit where the target has room for it: its own name first, then (for names the
        target lacks entirely) the most similar free place with the same leaves and shapes."""
        if not hasattr(target, "items"):
            raise TypeError(
                f"target must be a tree of arrays or ShapeDtypeStructs, not {type(target).__name__}"
            )
        colls = layout == "linen" and "params" in target
        slots: dict = {}  # flax path without the collection -> target leaf
        for _, sub in target.items() if colls else [(None, target)]:
            cls._walk(
                sub, (), lambda p, v: slots.__setitem__(p, v) if hasattr(v, "shape") else None
            )
        chosen: dict = {}

        def take(leaves, prefix):
            chosen.update({(*prefix, *r): s for r, s in leaves.items()})

        pending = []
        for u in units:
            scored = []
            for leaves, lost in u["forms"]:
                here = {r: (*u["prefix"], *r) for r in leaves}
                fit = {
                    r: s
                    for r, s in leaves.items()
                    if here[r] in slots and cls._fits(s, slots[here[r]])
                }
                scored.append((len(fit) - len(leaves), len(fit), leaves, lost, fit, here))
            full, n_fit, leaves, lost, fit, here = max(scored, key=lambda t: t[:2])
            if not any(p in slots for *_, here in scored for p in here.values()):
                pending.append(u)
                continue
            take(fit, u["prefix"])
            report.unexpected_keys += lost if fit else []
            for r, s in leaves.items():
                if r in fit:
                    continue
                if here[r] in slots:
                    report.mismatched.append(
                        (
                            s[3],
                            "/".join(map(str, here[r])),
                            cls._shape(s),
                            tuple(slots[here[r]].shape),
                        )
                    )
                elif s[3] not in report.unexpected_keys:
                    report.unexpected_keys.append(s[3])
        owned = {(*u["prefix"], *r) for u in units for leaves, _ in u["forms"] for r in leaves}
        free = [p for p in slots if p not in owned]
        options = []
        for ui, u in enumerate(pending):
            for leaves, lost in u["forms"]:
                first = next(iter(leaves))
                for p in free:
                    prefix = p[: -len(first)]
                    if p[-len(first) :] != first or any(
                        (*prefix, *r) not in slots or (*prefix, *r) in owned or not cls._fits(s, slots[(*prefix, *r)])
                        for r, s in leaves.items()):  # fmt: skip
                        continue
                    natural = [
                        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in cls._tokens(prefix)
                    ]
                    options.append(
                        (-cls._similarity(u["tokens"], prefix), ui, natural, prefix, leaves, lost)
                    )
        placed = set()
        for _, ui, _, prefix, leaves, lost in sorted(options, key=lambda o: o[:3]):
            if ui in placed or any((*prefix, *r) in chosen for r in leaves):
                continue
            placed.add(ui)
            take(leaves, prefix)
            report.unexpected_keys += lost
            report.renamed.append((pending[ui]["name"], "/".join(map(str, prefix))))
        report.unexpected_keys += [
            k for i, u in enumerate(pending) if i not in placed for k in u["keys"]
        ]

        def build(node, prefix, coll):
            out = {}
            for k, v in node.items():
                p = (*prefix, k)
                if hasattr(v, "items"):
                    out[k] = build(v, p, coll)
                elif p in chosen:
                    out[k] = cls._make(chosen[p], v.shape, v.dtype)
                else:
                    if hasattr(v, "shape"):
                        report.missing_keys.append("/".join(map(str, (coll, *p) if coll else p)))
                    if not isinstance(v, jax.ShapeDtypeStruct):
                        out[k] = v
            return out

        return (
            {c: build(sub, (), c) for c, sub in target.items()}
            if colls
            else build(target, (), None)
        )
