"""KeyMapper: PyTorch state dicts -> Flax variable trees (linen or NNX), inlined by switcheroo into
migrated files: numpy and jax are its only module-level imports, every helper lives in the class."""

import jax
import numpy as np


class KeyMapper:
    """Torch state dict -> Flax variables; a layer's type is read from its own keys and ranks.
    Linear weight.T -> kernel; Conv (O, I/g, *k) -> kernel (*k, I/g, O), ConvTranspose alike (with
    transpose_kernel=True); norms weight -> scale, running_mean/var -> batch_stats mean/var (NNX:
    beside scale); Embedding -> embedding as is; MultiheadAttention -> query/key/value/out (E, H, D);
    LSTM/GRU/RNN gates split, b_ih + b_hh summed. The result may share memory with the input."""

    _RNN = r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?"
    _BUFFERS = {"running_mean": ("mean", "batch_stats"), "running_var": ("var", "batch_stats")}
    # What `weight` is, from its shape w and its siblings' shapes g (first match wins; two names:
    # ambiguous). transformers' Conv1D stores (I, O), its bias (O,): "kernel=" keeps it as is.
    _WEIGHT = (
        (lambda w, g: "running_mean" in g or len(w) == 1, ("scale",)),  # Batch/Layer/GroupNorm
        (lambda w, g: g.get("bias") == w, ("scale",)),  # LayerNorm((a, b))
        (lambda w, g: g.get("bias") == w[1:] != w[:1], ("kernel=", "kernel")),  # Conv1D
        (lambda w, g: len(w) >= 3 or len(w) == 2 and "bias" in g, ("kernel",)),  # Linear, Conv*
        (lambda w, g: len(w) == 2, ("kernel", "embedding")),  # Linear(bias=False) or Embedding
        (lambda w, g: True, ("weight",)),
    )
    _ATTENTION = {"q_proj_": "query", "k_proj_": "key", "v_proj_": "value", "out_": "out"}
    # RNN cells by gate count: gate letters, and where each gate's biases go in the Flax cell
    # (h: b_ih + b_hh on the hidden dense, i: the sum on the input dense, *: each on its own side).
    _CELLS = {4: ("ifgo", "hhhh"), 3: ("rzn", "ii*"), 1: (" ", "i")}

    class Report:
        """What was not placed exactly; unpacks like torch's (missing_keys, unexpected_keys).
        Also mismatched (torch key, flax path, shape, target shape), ambiguous, renamed, dropped."""

        def __init__(self) -> None:
            self.missing_keys, self.unexpected_keys, self.mismatched = [], [], []  # type: ignore
            self.ambiguous, self.renamed, self.dropped = [], [], []  # type: ignore

        def __iter__(self):
            return iter((self.missing_keys, self.unexpected_keys))

        def __bool__(self) -> bool:
            return bool(self.missing_keys or self.unexpected_keys or self.mismatched)

        def __repr__(self) -> str:
            bad = [f"{k} -> {p}: {s} vs target {t}" for k, p, s, t in self.mismatched]
            parts = {"missing": self.missing_keys, "unexpected": self.unexpected_keys,
                     "shape mismatch": bad, "ambiguous": self.ambiguous}  # fmt: skip
            lines = [f"{t} ({len(v)}): {'; '.join(v)}" for t, v in parts.items() if v]
            return "\n".join(lines) or "all mapped"

    @classmethod
    def from_torch(cls, state, *, target=None, layout="linen", strict=False, num_heads=None,
                   return_report=False):  # fmt: skip
        """Flax variables from a state dict (torch/numpy/jax) or a .safetensors/.pt/.pth/.bin path.
        layout "linen" gives {"params": ..., "batch_stats": ...}, "nnx" a pure dict for
        nnx.replace_by_pure_dict. `target` (arrays or ShapeDtypeStructs, e.g. jax.eval_shape of
        model.init, or an NNX model) decides names, shapes, structure and dtypes; its own arrays stay
        where the checkpoint has nothing. strict=True raises one error listing every problem, else
        they are warned once. num_heads shapes attention kernels when there is no target.
        return_report=True returns (variables, report): `missing, unexpected = report` as in torch."""
        import warnings

        if layout not in ("linen", "nnx"):
            raise ValueError(f'layout must be "linen" or "nnx", not {layout!r}')
        if any(c.__module__.startswith("flax.nnx") for c in type(target).__mro__):
            from flax import nnx  # an NNX model or its state

            if isinstance(target, nnx.Module):
                target = nnx.state(target, (nnx.Param, nnx.BatchStat))
            if isinstance(target, nnx.State):
                target, layout = nnx.to_pure_dict(target), "nnx"
        report = cls.Report()
        units = cls._units(cls._load(state, report), layout, num_heads, report, target is None)
        if target is None:
            tree = cls._place(units, layout, report)
        else:
            tree = cls._place_target(units, target, layout, report)
        if strict and report:
            raise ValueError(f"checkpoint does not fit the model:\n{report!r}")
        if report or report.ambiguous:
            warnings.warn(f"KeyMapper.from_torch:\n{report!r}", stacklevel=2)
        return (tree, report) if return_report else tree

    @classmethod
    def map_name(cls, key, ndim=2, *, layout="linen"):
        """The Flax paths one torch tensor of rank `ndim` goes to, judged from its key alone."""
        return tuple(cls.map_value(key, np.zeros((12,) * ndim, np.float32), layout=layout))

    @classmethod
    def map_value(cls, key, value, *, layout="linen"):
        """{flax path: array} for one tensor on its own (a lone 2-D `weight` counts as Linear)."""
        report, out = cls.Report(), {}  # type: ignore
        units = cls._units({key: cls._array(key, value)}, layout, None, report)
        cls._walk(cls._place(units, layout, report), (), out.__setitem__)
        return out

    @classmethod
    def _load(cls, state, report):
        """{torch key: array} from a state dict, a model, a training checkpoint or a file."""
        import os

        if isinstance(state, (str, os.PathLike)):
            state = cls._read(os.fspath(state))
        state = state.state_dict() if callable(getattr(state, "state_dict", None)) else state
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
    def _read(path):
        """A .safetensors file needs no torch; a torch file is memory-mapped unless legacy."""
        kind = "safetensors" if path.endswith(".safetensors") else "PyTorch"
        try:
            if kind == "safetensors":
                from safetensors.numpy import load_file

                return load_file(path)
            import torch

            try:
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as e:  # a legacy (non-zip) file cannot be memory-mapped
                if "mmap" not in str(e):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
        except (FileNotFoundError, ImportError):
            raise
        except Exception as e:
            raise ValueError(f"{path}: not a readable {kind} checkpoint ({e!r})") from None

    @staticmethod
    def _array(key, value):
        """A numpy array of the same dtype (bf16 too: its bits reinterpreted, never rounded)."""
        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            import torch

            try:
                value = value.detach().cpu()
                if value.dtype != torch.bfloat16:
                    return value.numpy()
                return value.view(torch.int16).numpy().view(jax.dtypes.bfloat16)
            except (TypeError, RuntimeError, NotImplementedError) as e:
                raise TypeError(f"{key!r}: cannot read this {value.dtype} tensor: {e}") from None
        if isinstance(value, (np.ndarray, np.generic, jax.Array)):
            return np.asarray(value)
        raise TypeError(f"{key!r} holds a {type(value).__name__}, not a tensor or array")

    @classmethod
    def _walk(cls, tree, prefix, visit):
        for k, v in tree.items():
            cls._walk(v, (*prefix, k), visit) if hasattr(v, "items") else visit((*prefix, k), v)

    @classmethod
    def _units(cls, flat, layout, heads, report, check=True):
        """Group keys by module into units (forms, torch keys, name, Flax prefixes). A form is one
        reading of the module (Linear or Embedding?): ({relative path: leaf}, notes if chosen); a
        leaf is (collection, array, transpose, torch key, reshape allowed)."""
        import re

        groups: dict = {}
        units: list = []
        for key, arr in flat.items():
            parts = [p for p in key.split(".") if p != "_orig_mod"]  # torch.compile
            while parts[0] == "module" and len(parts) > 1:  # DataParallel
                parts.pop(0)
            group = groups.setdefault(tuple(parts[:-1]), {})
            if parts[-1] in group:
                raise ValueError(f"{group[parts[-1]][0]!r} and {key!r} are one after unwrapping")
            group[parts[-1]] = (key, arr)
        shapes = [{n: v.shape for n, (_, v) in g.items()} for g in groups.values()]
        conv1d = any(cls._WEIGHT[2][0](s["weight"], s) for s in shapes if "weight" in s)
        for mod in list(groups):
            g = groups.pop(mod, {})
            rnn = {m.groups(): g.pop(n) for n in list(g) if (m := re.fullmatch(cls._RNN, n))}
            units += cls._rnn(mod, rnn, layout) if rnn else []
            if "in_proj_weight" in g or "q_proj_weight" in g:
                g.update({f"out_{n}": v for n, v in groups.pop((*mod, "out_proj"), {}).items()})
                forms: list = [(cls._attention(mod, g, heads, report), [])]
            else:
                forms = cls._plain(g, report, check, conv1d)
            if any(leaves for leaves, _ in forms):  # (a lone num_batches_tracked has none)
                units.append(cls._unit(mod, layout, forms, [k for k, _ in g.values()]))
        return units

    @staticmethod
    def _unit(parts, layout, forms, keys, name=""):
        """Torch module path -> Flax prefix: `a.0.b` is `a_0/b` in linen, `a/0/b` in NNX."""
        prefix: list = []
        for p in parts:
            if not p.isdigit():
                prefix.append(p)
            elif layout == "nnx":
                prefix += [int(p)] if prefix else ["layers", int(p)]
            else:
                prefix.append(f"{prefix.pop() if prefix else 'layers'}_{p}")
        split = tuple(int(p) if p.isdigit() else p for p in parts)
        spellings = (tuple(prefix), tuple(parts), split)  # a_0/b, a/"0"/b (transformers), a/0/b
        return (forms, keys, name or ".".join(parts) or "<top level>", spellings)

    @classmethod
    def _plain(cls, g, report, check, conv1d=False):
        """Linear, Conv*, norms, Embedding and loose tensors: `weight` read by _WEIGHT."""
        leaves = {}
        for name, (key, arr) in g.items():
            if name == "num_batches_tracked":
                report.dropped.append(key)
            elif name != "weight":
                name, coll = cls._BUFFERS.get(name, (name, "params"))
                leaves[(name,)] = (coll, arr, None, key, False)
        if "weight" not in g:
            return [(leaves, [])]
        (key, w), s = g["weight"], {n: v.shape for n, (_, v) in g.items()}
        names = next(names for test, names in cls._WEIGHT if test(w.shape, s))
        bad = names[0] == "kernel" and w.ndim == 2 and s.get("bias", w.shape[:1]) != w.shape[:1]
        bad = bad or names == ("scale",) and {v for v in s.values() if v} != {w.shape}
        if check and bad:  # (against a target, the report says it)
            shapes = {k: v.shape for k, v in g.values()}
            raise ValueError(f"shapes of one module do not fit together: {shapes}")
        if conv1d and names == ("kernel",) and w.ndim == 2 and w.shape[0] == w.shape[1]:
            names = ("kernel=", "kernel")  # square, in a checkpoint of Conv1D layers: one of them
        if len(names) > 1 and names[1] == "embedding":
            report.ambiguous.append(f"{key} {w.shape}: Linear or Embedding? (pass target=)")
        perm = {"kernel": (*range(2, w.ndim), 1, 0)}
        forms = [(n.rstrip("="), perm.get(n)) for n in names]
        return [({**leaves, (n,): ("params", w, p, key, False)}, []) for n, p in forms]

    @classmethod
    def _attention(cls, mod, g, h, report):
        """nn.MultiheadAttention: in_proj split into query/key/value; out_proj -> out."""
        g, name = dict(g), ".".join(mod)
        for n in ("weight", "bias"):
            key, w = g.get(f"in_proj_{n}", ("", np.zeros(0)))
            if w.shape[0] % 3:
                raise ValueError(f"{key!r}: shape {w.shape} does not split into query, key, value")
            thirds = zip("qkv", np.split(w, 3), strict=True) if key else ()
            g.update({f"{q}_proj_{n}": (key, third) for q, third in thirds})
        e = g["q_proj_weight"][1].shape[0]
        if h and e % h:
            raise ValueError(f"{name}: embed dim {e} is not divisible by {h} heads")
        # heads are an axis in Flax: kernel (E, H, D), bias (H, D), out kernel (H, D, E)
        shapes = {"weight": (-1, h, e // h), "bias": (h, -1), "out_weight": (h, -1, e)} if h else {}
        leaves = {}
        for src, dst in cls._ATTENTION.items():
            for n, flax_name, perm in (("weight", "kernel", (1, 0)), ("bias", "bias", None)):
                if src + n in g:
                    shape = shapes.get(n if dst != "out" else src + n, True)  # True: as the target
                    leaves[(dst, flax_name)] = ("params", g[src + n][1], perm, g[src + n][0], shape)
        extra = [f"{g[n][0]} (not in Flax)" for n in ("bias_k", "bias_v") if n in g]
        report.unexpected_keys += extra
        report.ambiguous += [] if h else [f"{name}: how many heads? (pass num_heads=)"]
        return leaves

    @classmethod
    def _rnn(cls, mod, params, layout):
        """nn.LSTM / nn.GRU / nn.RNN: one unit per layer and direction, gates split per cell."""
        cells: dict = {}
        for (kind, side, layer, rev), (key, arr) in params.items():
            if side == "hr":
                raise ValueError(f"{key!r}: LSTM proj_size has no Flax equivalent")
            cells.setdefault((int(layer), bool(rev)), {})[f"{kind}_{side}"] = (key, arr)
        multi, bidir, units = len({n for n, _ in cells}) > 1, any(r for _, r in cells), []
        for (layer, rev), c in sorted(cells.items()):
            where = f"{'.'.join(mod)} layer {layer}{' reverse' if rev else ''}"
            if "weight_ih" not in c or "weight_hh" not in c:
                raise ValueError(f"{where}: needs both weight_ih and weight_hh, has {sorted(c)}")
            (ki, wi), (kh, wh) = c["weight_ih"], c["weight_hh"]
            hid, zero = wh.shape[-1], ("", np.zeros(wi.shape[0], wi.dtype))
            (kbi, bi), (kbh, bh) = c.get("bias_ih", zero), c.get("bias_hh", zero)
            gates = wi.shape[0] // max(hid, 1)
            if gates not in cls._CELLS or {len(wh), len(bi), len(bh), wi.shape[0]} != {gates * hid} \
                    or wi.ndim != 2 or wh.ndim != 2 or bi.ndim != 1 or bh.ndim != 1:  # fmt: skip
                raise ValueError(f"{ki!r} {wi.shape}, {kh!r} {wh.shape}: not LSTM/GRU/RNN weights")
            (letters, place), ks, bs = cls._CELLS[gates], f"{kbi}+{kbh}".strip("+"), bi + bh
            cut = [slice(j * hid, (j + 1) * hid) for j in range(gates)]
            gate: dict = {}  # linen cells and nnx.LSTMCell: a dense per gate and side
            for j, (letter, side) in enumerate(zip(letters, place, strict=True)):
                gi = ("if_" if layout == "nnx" and letter == "f" else f"i{letter}").strip()
                gh = f"h{letter}".strip()
                gate[(gi, "kernel")] = ("params", wi[cut[j]], (1, 0), ki, False)
                gate[(gh, "kernel")] = ("params", wh[cut[j]], (1, 0), kh, False)
                both = [(gi, bi, kbi), (gh, bh, kbh)] if side == "*" else []
                for g, b, key in both or [(gi if side == "i" else gh, bs, ks)]:
                    gate[(g, "bias")] = ("params", b[cut[j]], None, key, False)
            # nnx.OptimizedLSTMCell, GRUCell, SimpleCell: a dense per side, gates side by side
            fused: dict = {("dense_i", "kernel"): ("params", wi, (1, 0), ki, False),
                     ("dense_h", "kernel"): ("params", wh, (1, 0), kh, False)}  # fmt: skip
            sums = np.concatenate([(bs if s != "*" else bi)[cut[j]] for j, s in enumerate(place)])
            side = "dense_h" if place[0] == "h" else "dense_i"
            fused[(side, "bias")] = ("params", sums, None, ks, False)
            lost_n = any(np.any(bh[cut[j]]) for j, s in enumerate(place) if s == "*")
            lost = [f"{kbh} (nnx.GRUCell has no n-gate hidden bias)"] if lost_n else []
            # linen: a dense per gate; NNX: LSTMCell or OptimizedLSTMCell, GRUCell/SimpleCell fused
            forms = [(gate, [])] if layout == "linen" else [(fused, lost)]
            forms = [(gate, []), *forms] if layout == "nnx" and gates == 4 else forms
            parts = [*mod, *(["layers", str(layer)] if multi else [])]
            parts += [*(["backward_rnn" if rev else "forward_rnn"] if bidir else []), "cell"]
            units.append(cls._unit(parts, layout, forms, [k for k, _ in c.values()], where))
        return units

    @staticmethod
    def _fits(leaf, slot):
        """Same shape, or (attention) the same axes with heads split out or merged."""
        s, t = tuple(leaf[1].shape[i] for i in leaf[2] or range(leaf[1].ndim)), tuple(slot.shape)
        cuts = lambda shape: set(np.cumprod(shape).tolist())  # noqa: E731  where axes end
        return s == t or leaf[4] is not False and cuts(s) <= cuts(t) and np.prod(s) == np.prod(t)

    @staticmethod
    def _make(jobs):
        """Flax arrays for [(leaf, shape, dtype)], all sent to the device in one batch: copying a
        transposed view there is the transpose (PJRT's strided copy beats numpy and jnp.transpose)."""
        out = []
        for (_, arr, perm, _, reshape), shape, dtype in jobs:
            x = arr.transpose(perm) if perm else arr
            shape = reshape if shape is None and isinstance(reshape, tuple) else shape
            x = x if shape is None or tuple(x.shape) == tuple(shape) else x.reshape(shape)
            out.append(x if dtype is None or x.dtype == dtype else x.astype(dtype))
        fits = [i for i, x in enumerate(out) if jax.dtypes.canonicalize_dtype(x.dtype) == x.dtype]
        for i, x in zip(fits, jax.device_put([out[i] for i in fits]), strict=True):
            out[i] = x  # (64-bit arrays stay numpy unless jax_enable_x64: their values are kept)
        return out

    @classmethod
    def _place(cls, units, layout, report):
        """The tree of every unit's first form at its own name (no target)."""
        paths, jobs, tree = [], [], {}  # type: ignore
        for ((leaves, lost), *_), _, _, (prefix, *_) in units:
            report.unexpected_keys += lost
            for rel, leaf in leaves.items():
                paths.append(((leaf[0],) if layout == "linen" else ()) + prefix + rel)
                jobs.append((leaf, None, None))
        for path, (leaf, *_), x in zip(paths, jobs, cls._make(jobs), strict=True):
            cls._insert(tree, path, x, leaf[3])
        return tree

    @staticmethod
    def _insert(tree, path, value, key):
        for k in path[:-1]:
            tree = tree.setdefault(k, {}) if isinstance(tree, dict) else None
        if not isinstance(tree, dict) or path[-1] in tree:
            raise ValueError(f"{key!r} collides with another tensor at {path}")
        tree[path[-1]] = value

    @staticmethod
    def _similarity(a, b):
        """How many name words two paths share (`embed` ~ `embedding`): ranks renamings."""
        words = lambda path: {w for c in path for w in str(c).lower().split("_") if w}  # noqa: E731
        same = lambda x, y: x == y or min(len(x), len(y)) > 2 and y.startswith(x)  # noqa: E731
        return sum(any(same(x, y) or same(y, x) for y in words(b)) for x in words(a))

    @classmethod
    def _place_target(cls, units, target, layout, report):
        """A unit goes where the target has its names (what fits); a unit whose names the target
        lacks goes to the most similar free place with its leaves and shapes (report.renamed)."""
        if not hasattr(target, "items"):
            raise TypeError(f"target must be a tree of arrays, not {type(target).__name__}")
        report.ambiguous.clear()  # the target decides
        skip = int(layout == "linen" and "params" in target)  # (linen paths start by collection)
        order, chosen, options, placed = [], {}, [], set()  # type: ignore
        cls._walk(target, (), lambda p, v: order.append((p, v)))
        slots = {p[skip:]: v for p, v in order if hasattr(v, "shape")}

        def kernel_perms(unit):  # how the target wants this unit's kernel: transposed or not
            q = next(((*p, "kernel") for p in unit[3] if (*p, "kernel") in slots), None)
            kernels = [f[("kernel",)] for f, _ in unit[0] if ("kernel",) in f and q]
            return {k[2] for k in kernels if cls._fits(k, slots[q])} if len(kernels) == 2 else set()

        votes = [p for u in units if len(perms := kernel_perms(u)) == 1 for p in perms]
        for i, u in enumerate(units):  # square Conv1D weights follow the model's other layers
            if votes and len(kernel_perms(u)) == 2:
                best = max(votes, key=votes.count)
                units[i] = (sorted(u[0], key=lambda f: f[0][("kernel",)][2] != best), *u[1:])
        owned = {(*q, *r) for u in units for q in u[3] for leaves, _ in u[0] for r in leaves}
        free = [q for q in slots if q not in owned]
        for i, (forms, _, _, spellings) in enumerate(units):  # a_0/b, a/"0"/b or a/0/b
            named = [q for q in spellings if any((*q, *r) in slots for f, _ in forms for r in f)]
            for leaves, lost in forms:
                n = len(first := next(iter(leaves)))
                for p in named[:1] or {q[:-n] for q in free if q[-n:] == first}:
                    at = {(*p, *r): f for r, f in leaves.items()}
                    ok = {q for q, f in at.items() if q in slots and cls._fits(f, slots[q])}
                    if named or len(ok) == len(at) and not ok & owned:
                        score = len(ok) if named else cls._similarity(spellings[0], p)
                        natural = [(len(w), w) for w in map(str, p)]  # layers_2 < layers_10
                        rank = (not named, -score, len(at) - len(ok), i, natural)
                        options.append((rank, p, at, ok, lost))
        for (moved, *_, i, _), p, at, ok, lost in sorted(options, key=lambda o: o[0]):
            if i in placed or any(q in chosen for q in ok):
                continue
            placed.add(i)
            chosen.update({q: at[q] for q in ok})
            report.unexpected_keys += lost if ok else []
            report.renamed += [(units[i][2], "/".join(map(str, p)))] if moved else []
            for q, f in at.items():
                shape = tuple(f[1].shape[j] for j in f[2] or range(f[1].ndim))
                if q in slots and q not in ok:
                    report.mismatched.append((f[3], "/".join(map(str, q)), shape, slots[q].shape))
                elif q not in ok and f[3] not in report.unexpected_keys:
                    report.unexpected_keys.append(f[3])
        report.unexpected_keys += [k for i, u in enumerate(units) if i not in placed for k in u[1]]
        tree: dict = {}  # the target's structure, dtypes and (where nothing came) arrays
        jobs = [(chosen[p[skip:]], v.shape, v.dtype) for p, v in order if p[skip:] in chosen]
        made = iter(cls._make(jobs))
        for p, v in order:
            if p[skip:] in chosen:
                v = next(made)
            elif hasattr(v, "shape"):
                report.missing_keys.append("/".join(map(str, p)))
            if not isinstance(v, jax.ShapeDtypeStruct):
                cls._insert(tree, p, v, "")
        return tree
