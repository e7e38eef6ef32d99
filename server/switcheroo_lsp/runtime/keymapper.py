"""KeyMapper: turn PyTorch state dicts into Flax variable trees (linen or NNX).

This module is the source of the preamble that switcheroo inlines into migrated files: it imports only
numpy and jax at module level, everything else lazily, and keeps every helper inside the class.
"""

import jax
import jax.numpy as jnp
import numpy as np


class KeyMapper:
    """Torch state dict -> Flax variables; each layer's type is read from its own keys and ranks.

    Linear weight.T -> kernel; Conv/ConvTranspose (O, I/g, *k) -> kernel (*k, I/g, O); norms weight ->
    scale, running_mean/var -> batch_stats mean/var (NNX: beside scale), num_batches_tracked dropped;
    Embedding weight -> embedding as is; MultiheadAttention -> query/key/value/out; LSTM/GRU/RNN gates
    split, b_ih + b_hh summed as the Flax cells expect. Results may share memory with the input.
    """

    _RNN_LEAF = r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?"
    _BUFFERS = {"running_mean": ("mean", "batch_stats"), "running_var": ("var", "batch_stats")}
    # What `weight` is, from its rank and siblings (first match wins; two names = ambiguous).
    _WEIGHT_RULES = (
        (lambda w, g: "running_mean" in g or w.ndim == 1, ("scale",)),  # Batch/Layer/GroupNorm
        (
            lambda w, g: "bias" in g and g["bias"][1].shape == w.shape,
            ("scale",),
        ),  # LayerNorm((a, b))
        (lambda w, g: w.ndim >= 3 or w.ndim == 2 and "bias" in g, ("kernel",)),  # Linear, Conv*
        (lambda w, g: w.ndim == 2, ("kernel", "embedding")),  # Linear(bias=False) or Embedding
        (lambda w, g: True, ("weight",)),
    )
    # RNN cells by gate count: gate letters, and where each gate's biases go in the Flax cell
    # (h: b_ih + b_hh on the hidden dense, i: the sum on the input dense, *: each on its own side).
    _CELLS = {4: ("ifgo", "hhhh"), 3: ("rzn", "ii*"), 1: (" ", "i")}
    _SAFETENSORS = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "bfloat16", "I64": "<i8",
                    "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?",
                    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}  # fmt: skip

    class Report:
        """What was not placed exactly; unpacks like torch's `(missing_keys, unexpected_keys)`.

        `mismatched` holds (torch key, flax path, converted shape, target shape); `ambiguous`,
        `renamed` (torch module, flax path) and `dropped` explain the rest.
        """

        def __init__(self) -> None:
            self.missing_keys: list = []
            self.unexpected_keys: list = []
            self.mismatched: list = []
            self.ambiguous: list = []
            self.renamed: list = []
            self.dropped: list = []
            self.has_target = False

        def __iter__(self):
            return iter((self.missing_keys, self.unexpected_keys))

        def __bool__(self) -> bool:
            return bool(self.missing_keys or self.unexpected_keys or self.mismatched)

        def __repr__(self) -> str:
            mismatched = [f"{k} -> {p}: {s} vs target {t}" for k, p, s, t in self.mismatched]
            parts = [("missing in checkpoint", self.missing_keys), ("ambiguous", self.ambiguous),
                     ("unexpected in checkpoint", self.unexpected_keys),
                     ("shape mismatch", mismatched)]  # fmt: skip
            return (
                "\n".join(f"{t} ({len(v)}): {'; '.join(v)}" for t, v in parts if v) or "all mapped"
            )

    @classmethod
    def from_torch(cls, state, *, target=None, layout="linen", strict=False, num_heads=None,
                   return_report=False):  # fmt: skip
        """Flax variables from a state dict (torch/numpy/jax) or a .safetensors/.pt/.pth/.bin path.

        layout "linen" -> {"params": ..., "batch_stats": ...}; "nnx" -> a pure dict for
        nnx.replace_by_pure_dict. `target` (arrays or ShapeDtypeStructs, e.g. from jax.eval_shape, or
        an NNX module/state) decides names, shapes, structure and dtypes; its arrays stay for missing
        keys. Problems: strict=True raises one ValueError listing all, else one warning. num_heads
        shapes attention kernels when there is no target. return_report=True -> (variables, report),
        and `missing, unexpected = report` as with torch's load_state_dict.
        """
        if layout not in ("linen", "nnx"):
            raise ValueError(f'layout must be "linen" or "nnx", not {layout!r}')
        import sys

        if target is not None and "flax.nnx" in sys.modules:  # an NNX model or its state
            from flax import nnx

            if isinstance(target, nnx.Module):
                target = nnx.state(target, (nnx.Param, nnx.BatchStat))
            if isinstance(target, nnx.State):
                target, layout = nnx.to_pure_dict(target), "nnx"
        report = cls.Report()
        report.has_target = target is not None
        units = cls._units(cls._load(state, report), layout, num_heads, report)
        if target is None:
            tree = cls._place_default(units, layout, report)
        else:
            tree = cls._place_target(units, target, layout, report)
            report.ambiguous.clear()  # the target decided
        if strict and report:
            raise ValueError(f"checkpoint does not fit the model:\n{report!r}")
        if report or report.ambiguous:
            import warnings

            warnings.warn(f"KeyMapper.from_torch:\n{report!r}", stacklevel=2)
        return (tree, report) if return_report else tree

    @classmethod
    def map_name(cls, key, ndim=2, *, layout="linen"):
        """The Flax paths one torch tensor of rank `ndim` goes to, judged from its key alone."""
        return tuple(cls.map_value(key, np.zeros((1,) * ndim, np.float32), layout=layout))

    @classmethod
    def map_value(cls, key, value, *, layout="linen"):
        """{flax path: array} for one tensor on its own (a lone 2-D `weight` counts as Linear)."""
        tree, out = (
            cls._place_default(cls._units({key: cls._array(key, value)}, layout), layout),
            {},
        )
        cls._walk(tree, (), out.__setitem__)
        return out

    @classmethod
    def _load(cls, state, report):
        import os

        if isinstance(state, (str, os.PathLike)):
            path = os.fspath(state)
            reader = cls._read_safetensors if path.endswith(".safetensors") else cls._read_torch
            state = reader(path)
        if callable(getattr(state, "state_dict", None)):
            state = state.state_dict()
        if not hasattr(state, "items"):
            raise TypeError(f"expected a state dict or checkpoint path, not {type(state).__name__}")
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

            try:
                value = value.detach().cpu()
                if value.dtype == torch.bfloat16:  # numpy has no bf16: reinterpret the bits
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
            raise ValueError(f"{path}: not a readable PyTorch checkpoint ({e})") from None

    @classmethod
    def _read_safetensors(cls, path):
        """Memory-mapped views of a .safetensors file (8-byte header size, JSON header, data)."""
        import json
        import os

        import ml_dtypes

        raw = np.memmap(path, np.uint8, "r") if os.path.getsize(path) else np.zeros(0, np.uint8)
        try:
            size, out = int(raw[:8].view("<u8")[0]), {}
            for key, info in json.loads(bytes(raw[8 : 8 + size])).items():
                if key != "__metadata__":
                    name = cls._SAFETENSORS[info["dtype"]]
                    dtype, shape = np.dtype(getattr(ml_dtypes, name, name)), tuple(info["shape"])
                    start, end = (8 + size + int(o) for o in info["data_offsets"])
                    if end > raw.size or end - start != dtype.itemsize * int(np.prod(shape)):
                        raise ValueError(f"tensor {key!r} does not fit the data")
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
    def _leaf(arr, key, perm=None, coll="params", reshape=False):
        """A Flax leaf to be: (collection, source array, transpose, torch key, allowed reshape)."""
        return (coll, arr, perm, key, reshape)

    @classmethod
    def _units(cls, flat, layout, num_heads=None, report=None):
        """Group keys by module; each module becomes one or more units: a Flax path prefix and the
        alternative leaf sets ("forms") it could be, e.g. Linear vs Embedding."""
        import re

        report, groups = cls.Report() if report is None else report, {}
        for key, arr in flat.items():
            parts = [p for p in key.split(".") if p != "_orig_mod"]  # torch.compile
            while parts[0] == "module" and len(parts) > 1:  # DataParallel
                parts.pop(0)
            group = groups.setdefault(tuple(parts[:-1]), {})
            if parts[-1] in group:
                raise ValueError(
                    f"{group[parts[-1]][0]!r} and {key!r} are the same after unwrapping"
                )
            group[parts[-1]] = (key, arr)
        units = []
        for mod in list(groups):
            g = groups.pop(mod, {})
            rnn = {n: v for n, v in g.items() if re.fullmatch(cls._RNN_LEAF, n)}
            units += cls._rnn_units(mod, rnn, layout) if rnn else []
            g = {n: v for n, v in g.items() if n not in rnn}
            if "in_proj_weight" in g or "q_proj_weight" in g:
                out_proj = groups.pop((*mod, "out_proj"), {})
                g.update({f"out_{n}": v for n, v in out_proj.items()})
                units.append(cls._attention_unit(mod, g, layout, num_heads, report))
            elif g:
                units.append(cls._plain_unit(mod, g, layout, report))
        return units

    @classmethod
    def _unit(cls, parts, layout, forms, keys, name=""):
        """Torch module path -> Flax prefix: `a.0.b` is `a_0/b` in linen, `a/0/b` in NNX."""
        prefix: list = []
        for p in parts:
            if not p.isdigit():
                prefix.append(p)
            elif layout == "nnx":
                prefix += [int(p)] if prefix else ["layers", int(p)]
            else:
                prefix.append(f"{prefix.pop() if prefix else 'layers'}_{p}")
        name = name or ".".join(parts) or "<top level>"
        return {"prefix": tuple(prefix), "forms": forms, "keys": keys, "name": name}

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
                leaves[(flax_name,)] = cls._leaf(arr, key, coll=coll)
        forms = [(leaves, [])]
        if "weight" in g:
            (key, w), (bkey, b) = g["weight"], g.get("bias", ("", None))
            siblings = {v.shape for _, v in g.values() if v.ndim} - {
                w.shape
            }  # (a target says more)
            if names == ("scale",) and siblings and not report.has_target:
                raise ValueError(f"{key!r}: shape {w.shape} differs from its siblings' {siblings}")
            if (
                names[0] == "kernel"
                and w.ndim == 2
                and b is not None
                and b.shape != w.shape[:1]
                and not report.has_target
            ):
                raise ValueError(f"{bkey!r}: shape {b.shape} does not fit {key!r} {w.shape}")
            if len(names) > 1:
                report.ambiguous.append(f"{key} {w.shape}: Linear or Embedding? (pass target=)")
            perm = {"kernel": (*range(2, w.ndim), 1, 0)}
            forms = [({**leaves, (n,): cls._leaf(w, key, perm.get(n))}, []) for n in names]
        return cls._unit(mod, layout, forms, [k for k, _ in g.values()])

    @classmethod
    def _attention_unit(cls, mod, g, layout, num_heads, report):
        """nn.MultiheadAttention: in_proj split into query/key/value, out_proj -> out."""
        if "in_proj_weight" in g:
            key, w = g["in_proj_weight"]
            e = w.shape[0] // 3
            if w.ndim != 2 or w.shape[0] != 3 * e:
                raise ValueError(f"{key!r}: shape {w.shape} does not split into query, key, value")
            ws = [(key, w[i * e : (i + 1) * e]) for i in range(3)]
        else:
            ws = [g[f"{n}_proj_weight"] for n in "qkv"]
            e = ws[0][1].shape[0]
        if num_heads and e % num_heads:
            raise ValueError(
                f"{'.'.join(mod)}: embed dim {e} is not divisible by {num_heads} heads"
            )
        h, leaves = num_heads, {}  # Flax keeps heads as an axis: (E, H, D), (H, D); out (H, D, E)
        for i, name in enumerate(("query", "key", "value")):
            leaves[(name, "kernel")] = cls._leaf(
                *ws[i][::-1], (1, 0), reshape=h and (-1, h, e // h)
            )
            if "in_proj_bias" in g:
                bkey, b = g["in_proj_bias"]
                leaves[(name, "bias")] = cls._leaf(
                    b[i * e : (i + 1) * e], bkey, reshape=h and (h, -1)
                )
        if "out_weight" in g:
            leaves[("out", "kernel")] = cls._leaf(
                *g["out_weight"][::-1], (1, 0), reshape=h and (h, -1, e)
            )
        if "out_bias" in g:
            leaves[("out", "bias")] = cls._leaf(*g["out_bias"][::-1])
        leaves = {r: (*s[:4], s[4] or True) for r, s in leaves.items()}  # reshapeable to a target
        for n in ("bias_k", "bias_v"):
            if n in g:
                report.unexpected_keys.append(f"{g[n][0]} (add_bias_kv has no Flax equivalent)")
        if not h:
            report.ambiguous.append(f"{'.'.join(mod)}: attention heads unknown (pass num_heads=)")
        return cls._unit(mod, layout, [(leaves, [])], [k for k, _ in g.values()])

    @classmethod
    def _rnn_units(cls, mod, leaves, layout):
        """nn.LSTM / nn.GRU / nn.RNN: one unit per layer and direction, gates split per the cell."""
        import re

        cells: dict = {}
        for name, (key, arr) in leaves.items():
            kind, side, layer, rev = re.fullmatch(cls._RNN_LEAF, name).groups()  # type: ignore[union-attr]
            if side == "hr":
                raise ValueError(f"{key!r}: LSTM proj_size has no Flax equivalent")
            cells.setdefault((int(layer), bool(rev)), {})[f"{kind}_{side}"] = (key, arr)
        multi, bidir, units = len({n for n, _ in cells}) > 1, any(r for _, r in cells), []
        for (layer, rev), c in sorted(cells.items()):
            if "weight_ih" not in c or "weight_hh" not in c:
                raise ValueError(f"{'.'.join(mod)} layer {layer}: needs weight_ih and weight_hh")
            (ki, wi), (kh, wh) = c["weight_ih"], c["weight_hh"]
            hid = wh.shape[-1]
            gates = wi.shape[0] // max(hid, 1)
            zero = np.zeros(gates * hid, wi.dtype)
            (kbi, bi), (kbh, bh) = c.get("bias_ih", ("", zero)), c.get("bias_hh", ("", zero))
            if gates not in cls._CELLS or {wi.shape[0], *wh.shape[:1], *bi.shape, *bh.shape} != {
                    gates * hid} or wi.ndim != 2 or wh.shape[1:] != (hid,):  # fmt: skip
                raise ValueError(f"{ki!r} {wi.shape}, {kh!r} {wh.shape}: not LSTM/GRU/RNN weights")
            (letters, place), ksum, bsum = cls._CELLS[gates], f"{kbi}+{kbh}".strip("+"), bi + bh
            cut = [slice(j * hid, (j + 1) * hid) for j in range(gates)]
            per_gate = {}  # linen cells and nnx.LSTMCell: a dense per gate and side
            for j, (letter, bias_side) in enumerate(zip(letters, place, strict=True)):
                gi = "if_" if layout == "nnx" and letter == "f" else f"i{letter}".strip()
                gh = f"h{letter}".strip()
                per_gate[(gi, "kernel")] = cls._leaf(wi[cut[j]], ki, (1, 0))
                per_gate[(gh, "kernel")] = cls._leaf(wh[cut[j]], kh, (1, 0))
                if bias_side == "*":
                    per_gate[(gi, "bias")] = cls._leaf(bi[cut[j]], kbi)
                    per_gate[(gh, "bias")] = cls._leaf(bh[cut[j]], kbh)
                else:
                    per_gate[(gi if bias_side == "i" else gh, "bias")] = cls._leaf(
                        bsum[cut[j]], ksum
                    )
            # nnx.OptimizedLSTMCell, GRUCell, SimpleCell: one dense per side, gates side by side
            fused = {("dense_i", "kernel"): cls._leaf(wi, ki, (1, 0)),
                     ("dense_h", "kernel"): cls._leaf(wh, kh, (1, 0))}  # fmt: skip
            if place[0] == "h":
                fused[("dense_h", "bias")] = cls._leaf(bsum, ksum)
            else:
                sums = [(bsum if s == "i" else bi)[cut[j]] for j, s in enumerate(place)]
                fused[("dense_i", "bias")] = cls._leaf(np.concatenate(sums), ksum)
            hidden_only = [bh[cut[j]] for j, s in enumerate(place) if s == "*"]
            lost = [f"{kbh} (nnx.GRUCell has no n-gate hidden bias)"] if np.any(hidden_only) else []
            forms = [(per_gate, []), (fused, lost)][:: 1 if gates == 4 else -1]
            parts = [*mod, *(["layers", str(layer)] if multi else [])]
            parts += [*(["backward_rnn" if rev else "forward_rnn"] if bidir else []), "cell"]
            where = f"{'.'.join(mod)} layer {layer}{' reverse' if rev else ''}"
            forms = forms if layout == "nnx" else forms[:1] if gates == 4 else forms[1:]
            units.append(cls._unit(parts, layout, forms, [k for k, _ in c.values()], where))
        return units

    @staticmethod
    def _shape(spec):
        return tuple(spec[1].shape[i] for i in spec[2]) if spec[2] else tuple(spec[1].shape)

    @classmethod
    def _fits(cls, spec, slot):
        """Same shape, or (attention) the same axes with heads split out or merged."""
        s, t, i = cls._shape(spec), tuple(slot.shape), 0
        if s == t or spec[4] is False or int(np.prod(s)) != int(np.prod(t)):
            return s == t
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
        arr, perm, reshape = spec[1:3] + spec[4:]
        in_jax = lambda a: jax.dtypes.canonicalize_dtype(a.dtype) == a.dtype  # noqa: E731  x64 off
        if perm and in_jax(arr) and arr.size >= 1 << 16:
            x = jnp.transpose(jax.device_put(np.ascontiguousarray(arr)), perm)
        else:
            x = np.ascontiguousarray(arr.transpose(perm)) if perm else arr
        shape = shape if shape is not None else reshape if isinstance(reshape, tuple) else x.shape
        x = x if tuple(x.shape) == tuple(shape) else x.reshape(shape)
        x = x if dtype is None or x.dtype == dtype else x.astype(dtype)
        return jax.device_put(x) if in_jax(x) and not isinstance(x, jax.Array) else x

    @classmethod
    def _place_default(cls, units, layout, report=None):
        tree: dict = {}
        for u in units:
            leaves, lost = u["forms"][0]
            report.unexpected_keys.extend(lost) if report is not None else None
            for rel, spec in leaves.items():
                node, path = tree, ((spec[0],) if layout == "linen" else ()) + u["prefix"] + rel
                for k in path[:-1]:
                    node = node.setdefault(k, {}) if isinstance(node, dict) else None
                if not isinstance(node, dict) or path[-1] in node:
                    raise ValueError(f"{spec[3]!r} collides with another tensor at {path}")
                node[path[-1]] = cls._make(spec)
        return tree

    @staticmethod
    def _similarity(a, b):
        """Longest common subsequence of name tokens (`embed` ~ `embedding`): ranks renamings."""
        words = lambda path: [w for c in path for w in str(c).lower().split("_") if w]  # noqa: E731
        a, b = words(a), words(b)
        row = [0] * (len(b) + 1)
        for x in a:
            prev = row[:]
            for j, y in enumerate(b):
                same = x == y or min(len(x), len(y)) > 2 and (x.startswith(y) or y.startswith(x))
                row[j + 1] = prev[j] + 1 if same else max(prev[j + 1], row[j])
        return row[-1]

    @classmethod
    def _place_target(cls, units, target, layout, report):
        """Each unit goes where the target has its name; units whose name the target lacks go to
        the most similar free place with the same leaves and shapes (listed in report.renamed)."""
        if not hasattr(target, "items"):
            raise TypeError(f"target must be a tree of arrays, not {type(target).__name__}")
        colls = layout == "linen" and "params" in target
        slots: dict = {}  # flax path without the collection -> target leaf
        for sub in target.values() if colls else [target]:
            cls._walk(sub, (), lambda p, v: hasattr(v, "shape") and slots.__setitem__(p, v))
        chosen, pending = {}, []
        for u in units:
            fits = []
            for leaves, lost in u["forms"]:
                at = {r: (*u["prefix"], *r) for r in leaves}
                ok = {r for r, s in leaves.items() if at[r] in slots and cls._fits(s, slots[at[r]])}
                fits.append((len(ok) - len(leaves), len(ok), at, ok, leaves, lost))
            *_, at, ok, leaves, lost = max(fits, key=lambda f: f[:2])
            if not any(p in slots for f in fits for p in f[2].values()):
                pending.append(u)  # the target has none of this unit's names: look further below
                continue
            chosen.update({at[r]: leaves[r] for r in ok})
            report.unexpected_keys += lost if ok else []
            for r, s in leaves.items():
                if r in ok:
                    continue
                if at[r] in slots:
                    report.mismatched.append((s[3], "/".join(map(str, at[r])), cls._shape(s),
                                              tuple(slots[at[r]].shape)))  # fmt: skip
                elif s[3] not in report.unexpected_keys:
                    report.unexpected_keys.append(s[3])
        owned = {(*u["prefix"], *r) for u in units for leaves, _ in u["forms"] for r in leaves}
        options = []
        for i, u in enumerate(pending):
            for leaves, lost in u["forms"]:
                n = len(first := next(iter(leaves)))
                for p in [p[:-n] for p in slots if p[-n:] == first and p not in owned]:
                    at = [(*p, *r) for r in leaves]
                    if all(q in slots and q not in owned for q in at) and all(
                            cls._fits(s, slots[q]) for s, q in zip(leaves.values(), at, strict=True)):  # fmt: skip
                        order = [(0, int(w), "") if w.isdigit() else (1, 0, w) for w in map(str, p)]
                        options.append(
                            (-cls._similarity(u["prefix"], p), i, order, p, leaves, lost)
                        )
        placed: set = set()
        for _, i, _, p, leaves, lost in sorted(options, key=lambda o: o[:3]):
            if i not in placed and not any((*p, *r) in chosen for r in leaves):
                placed.add(i)
                chosen.update({(*p, *r): s for r, s in leaves.items()})
                report.unexpected_keys += lost
                report.renamed.append((pending[i]["name"], "/".join(map(str, p))))
        report.unexpected_keys += [
            k for i, u in enumerate(pending) if i not in placed for k in u["keys"]
        ]

        def build(node, prefix, coll):
            out = {}
            for k, v in node.items():
                p = (*prefix, k)
                if hasattr(v, "items"):
                    out.update({k: sub} if (sub := build(v, p, coll)) else {})
                elif p in chosen:
                    out[k] = cls._make(chosen[p], v.shape, v.dtype)
                else:
                    if hasattr(v, "shape"):
                        report.missing_keys.append("/".join(map(str, (coll, *p) if coll else p)))
                    if not isinstance(v, jax.ShapeDtypeStruct):
                        out[k] = v
            return out

        return {c: build(v, (), c) for c, v in target.items()} if colls else build(target, (), None)
