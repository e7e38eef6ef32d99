"""KeyMapper: PyTorch state dicts -> Flax variable trees (linen or NNX), inlined by
switcheroo into migrated files. It has no module-level imports, so inserting it binds
the name `KeyMapper` and nothing else: numpy, jax and the rest are imported inside the
methods that use them."""


class KeyMapper:
    """Convert a PyTorch state dict into Flax variables (linen or NNX).

    A layer's type is read from its own keys and shapes, never from its name. Linear
    weight (O, I) -> kernel (I, O); Conv weight (O, I/g, *k) -> kernel (*k, I/g, O),
    ConvTranspose alike (with transpose_kernel=True); norm weight -> scale; BatchNorm
    running_mean/var -> batch_stats mean/var (NNX: beside scale); Embedding weight ->
    embedding as is; MultiheadAttention -> query/key/value/out with the heads as an
    axis; LSTM/GRU/RNN gates split, b_ih + b_hh summed; weight norm (g, v) -> the weight
    g * v / ||v|| it stands for. KeyMapper.to_torch goes back.

    Against a target, the names the target uses come first (as they are, then renamed),
    then the order of the layers within a module, then shapes; a placement that none of
    these decides is reported as ambiguous. The result may share memory with the input.
    """

    class Report(tuple):
        """What did not map exactly, used like torch's `_IncompatibleKeys`: `missing,
        unexpected = report`, `report[0]`, `len(report) == 2`, `.missing_keys`, `report
        == ([], [])`.

        The other findings are attributes: `mismatched` (torch key, Flax path, shape,
        target shape), `ambiguous` (what no evidence decided), `renamed` (torch module,
        Flax path), `dropped` (keys with no Flax meaning), `tied` (key, the key whose
        tensor it repeats) and `buffers` (fixed tensors that the Flax model recomputes);
        to_torch's also `kept` (torch keys taken from `like` as they are) and `rebuilt`
        (torch key, how: made by a rule, the step having no inverse). Unlike torch's,
        a report is true only when there is a problem: something missing, unexpected,
        mismatched or ambiguous."""

        def __new__(cls, keys=((), ())):
            missing, unexpected = keys
            return super().__new__(cls, (list(missing), list(unexpected)))

        def __init__(self, keys=((), ())) -> None:
            self.mismatched: list[tuple] = []
            self.ambiguous: list[str] = []
            self.renamed: list[tuple[str, str]] = []
            self.dropped: list[str] = []
            self.tied: list[tuple[str, str]] = []
            self.buffers: list[str] = []
            self.kept: list[str] = []
            self.rebuilt: list[tuple[str, str]] = []

        @property
        def missing_keys(self) -> list[str]:
            """Target paths the checkpoint had nothing for (the target's own arrays stay
            there)."""
            return self[0]

        @property
        def unexpected_keys(self) -> list[str]:
            """Torch keys that found no place."""
            return self[1]

        def __bool__(self) -> bool:
            return bool(self[0] or self[1] or self.mismatched or self.ambiguous)

        def __repr__(self) -> str:
            mismatched = [
                f"{k} -> {p}: {s} vs target {t}" for k, p, s, t in self.mismatched
            ]
            problems = [
                ("missing", self[0]),
                ("unexpected", self[1]),
                ("shape mismatch", mismatched),
                ("ambiguous", self.ambiguous),
            ]
            lines = [
                f"{title} ({len(items)}): {'; '.join(items)}"
                for title, items in problems
                if items
            ]
            if not lines:
                lines.append("all mapped")
            notes = [
                ("tied", [f"{key} = {partner}" for key, partner in self.tied]),
                ("fixed buffers", self.buffers),
                ("kept from like", self.kept),
                ("rebuilt", [f"{key}: {how}" for key, how in self.rebuilt]),
            ]
            lines += [
                f"{title} ({len(items)}): {'; '.join(items)}"
                for title, items in notes
                if items
            ]
            return "\n".join(lines)

    class _Leaf:
        """One Flax array to be: the torch array, the axis order it takes (None: as it
        is), the torch key it comes from, its collection, whether its axes may be
        regrouped (attention heads: False never, True as the target has them, a shape
        when there is no target), the dtype it keeps (a bias sum is computed in a
        wider one) and, when it is a part of the torch tensor, the rows it takes
        (start, stop) of the first axis (attention's in_proj, an RNN's gates)."""

        def __init__(
            self,
            array,
            key,
            perm=None,
            collection="params",
            reshape=False,
            dtype=None,
            rows=None,
        ):
            self.array, self.key, self.perm = array, key, perm
            self.collection, self.reshape = collection, reshape
            self.dtype = array.dtype if dtype is None else dtype
            self.rows = rows

        @property
        def shape(self) -> tuple:
            """The shape after the transpose."""
            if self.perm is None:
                return tuple(self.array.shape)
            return tuple(self.array.shape[axis] for axis in self.perm)

        def planned_shape(self) -> tuple:
            """The shape it takes with no target: after the transpose, and split into
            heads where num_heads said how."""
            import math

            shape = self.shape
            if not isinstance(self.reshape, tuple):
                return shape
            known = math.prod(n for n in self.reshape if n != -1)
            rest = math.prod(shape) // known if known else 0
            return tuple(rest if n == -1 else n for n in self.reshape)

        def fits(self, slot) -> bool:
            """The target's slot has this shape, or (attention) the same axes split or
            merged."""
            import numpy as np

            mine, theirs = self.shape, tuple(slot.shape)
            if mine == theirs:
                return True
            if self.reshape is False or np.prod(mine) != np.prod(theirs):
                return False
            return set(np.cumprod(mine).tolist()) <= set(np.cumprod(theirs).tolist())

        def view(self, shape=None):
            """The array in Flax layout in its own dtype: a (transposed) view of the
            torch array, memory-mapped for a file's tensor, nothing read yet."""
            x = KeyMapper._Lazy.value_of(self.array)
            x = x if self.perm is None else x.transpose(self.perm)
            if shape is None and isinstance(self.reshape, tuple):
                shape = self.reshape
            if shape is not None and tuple(x.shape) != tuple(shape):
                x = x.reshape(shape)
            return x

        def value(self, shape=None, dtype=None):
            """The array in Flax layout, as a numpy array or (transposed) view."""
            x = self.view(shape)
            dtype = self.dtype if dtype is None else dtype
            return x if x.dtype == dtype else x.astype(dtype)

    class _Form:
        """One reading of a torch module: {path relative to the module: _Leaf}, and the
        torch keys that this reading has no place for (a function giving them when
        that depends on values: asked only if this reading is used)."""

        def __init__(self, leaves, lost=()):
            self.leaves = leaves
            self._lost = lost

        @property
        def lost(self) -> list:
            if callable(self._lost):
                self._lost = self._lost()
            return list(self._lost)

    class _Unit:
        """One torch module (or one layer and direction of an RNN) and its readings,
        most likely first. `kernel` says what its 2-D weight is: "linear", "conv1d"
        (transformers' Conv1D stores (in, out)), "square" (either: the shapes cannot
        say) or ""."""

        def __init__(self, parts, forms, keys, layout, name="", doubt="", kernel=""):
            self.parts = tuple(parts)
            self.forms, self.keys, self.doubt, self.kernel = forms, keys, doubt, kernel
            self.name = name or ".".join(parts) or "<top level>"
            self.choice = 0  # the reading used without a target
            # linen joins a Sequential index to its parent: a.0.b -> a_0/b
            joined: list = []
            split: list = []  # NNX keeps it as an integer key: a/0/b
            for part in parts:
                if not part.isdigit():
                    joined.append(part)
                    split.append(part)
                    continue
                joined.append(f"{joined.pop() if joined else 'layers'}_{part}")
                split += [int(part)] if split else ["layers", int(part)]
            spelled = {"linen": tuple(joined), "nnx": tuple(split)}
            self.prefix = spelled[layout]
            # the names a target may use for it: a_0/b, a/"0"/b (transformers' Flax
            # models), a/0/b
            self.spellings = (tuple(joined), self.parts, tuple(split))

    class _Node:
        """A torch module as the checkpoint lists it: its own units, then its children
        in registration order (the order torch writes a state dict in)."""

        def __init__(self, name, path):
            self.name, self.path = name, path
            self.units: list = []
            self.children: dict = {}

    class Entry:
        """One Flax leaf of a plan: where it goes, which torch key(s) it comes from, how
        it is laid out (axis order, shape) and the dtype and sharding it takes."""

        def __init__(self, path, leaf, shape=None, dtype=None, sharding=None):
            self.path, self.leaf, self.sharding = tuple(path), leaf, sharding
            self.shape = leaf.planned_shape() if shape is None else tuple(shape)
            self.dtype = leaf.dtype if dtype is None else dtype

        @property
        def key(self) -> str:
            """The torch key (a+b for a sum of two tensors)."""
            return self.leaf.key

        @property
        def transform(self) -> str:
            """What happens to the torch tensor on the way, in words."""
            import numpy as np

            steps = []
            if self.leaf.rows is not None:
                steps.append("rows {}:{}".format(*self.leaf.rows))
            if self.leaf.perm is not None:
                steps.append(f"transpose{tuple(self.leaf.perm)}")
            if self.shape != self.leaf.shape:
                steps.append(f"reshape{self.shape}")
            if np.dtype(self.dtype) != np.dtype(self.leaf.array.dtype):
                steps.append(f"as {np.dtype(self.dtype).name}")
            return ", ".join(steps) or "as is"

        def __repr__(self) -> str:
            import numpy as np

            path = "/".join(map(str, self.path))
            shape = "x".join(map(str, self.shape)) or "scalar"
            return (
                f"{path} <- {self.key} [{self.transform}]"
                f" {shape} {np.dtype(self.dtype).name}"
            )

    class Plan:
        """What from_torch will do, decided from the checkpoint's names, shapes and
        dtypes before any array is made: `entries` (one per Flax leaf, in the order
        of the result) and `report`. `execute()` makes the variables."""

        def __init__(self, mapper, entries, report, layout, order=None):
            self.mapper, self.entries, self.report = mapper, entries, report
            self.layout = layout
            # [(path, entry or None, the target's own value)] when there is a target
            self._order = order

        def __repr__(self) -> str:
            lines = [f"KeyMapper plan ({self.layout}): {len(self.entries)} Flax leaves"]
            lines += [f"  {entry!r}" for entry in self.entries]
            if self.report:
                lines += [
                    "problems:",
                    *(f"  {line}" for line in repr(self.report).splitlines()),
                ]
            return "\n".join(lines)

        def execute(self):
            """The Flax variables: every entry's array made and put in place."""
            values = self.mapper._make(self.entries)
            tree: dict = {}
            if self._order is None:
                for entry, value in zip(self.entries, values, strict=True):
                    self.mapper._insert(tree, entry.path, value, entry.key)
                return tree
            import jax

            made = dict(zip(map(id, self.entries), values, strict=True))
            for path, entry, value in self._order:
                if entry is not None:
                    value = made[id(entry)]
                if not isinstance(value, jax.ShapeDtypeStruct):
                    self.mapper._insert(tree, path, value, "")
            return tree

    class _Lazy:
        """An array known by its shape and dtype before its values exist: a tensor in a
        checkpoint file, or one computed from others (an RNN's bias sum, weight norm's
        weight). Planning needs only the shape and dtype; `compute()` makes the values
        when the plan is executed, so a plan reads no tensor data. `files` are the
        KeyMapper._Shard files the values come from; `where` says where a torch file's
        tensor lives (tied tensors share it)."""

        def __init__(self, shape, dtype, compute, inputs=(), files=None, where=None):
            import math

            import numpy as np

            self.shape, self.dtype = tuple(shape), np.dtype(dtype)
            self.ndim, self.size = len(self.shape), math.prod(self.shape)
            self._compute, self.inputs, self.where = compute, tuple(inputs), where
            if files is None:
                files = [file for x in self.inputs for file in getattr(x, "files", ())]
            self.files = tuple(dict.fromkeys(files))  # in order, each once

        def compute(self):
            """The values: the inputs' values, then this array's own step."""
            return self._compute(*map(KeyMapper._Lazy.value_of, self.inputs))

        @staticmethod
        def value_of(array):
            """An array's values: itself, or computed if it is a KeyMapper._Lazy."""
            return array.compute() if isinstance(array, KeyMapper._Lazy) else array

        def __getitem__(self, rows):
            """Rows start:stop of the first axis (an RNN's gate, attention's query)."""
            start, stop, _ = rows.indices(self.shape[0])
            shape = (max(stop - start, 0), *self.shape[1:])
            return KeyMapper._Lazy(shape, self.dtype, lambda x: x[rows], [self])

        def __repr__(self) -> str:
            return f"<lazy {self.dtype.name} array {self.shape}>"

    class _Shard:
        """One checkpoint file, read lazily: names, shapes and dtypes from its header
        (safetensors) or its pickle (torch, memory-mapped); the bytes only while it is
        open, which execution does one file at a time. `listed` are the keys an index
        says it holds."""

        def __init__(self, mapper, path, listed=()):
            self.mapper, self.path, self.listed = mapper, path, tuple(listed)
            self._arrays = None

        def header(self, report):
            """{key: KeyMapper._Lazy} for every tensor of the file, no tensor read."""
            lazy = self.mapper._Lazy
            if self.path.endswith(".safetensors"):
                entries = self.mapper._safetensors_entries(self.path)
                found = {
                    key: lazy(shape, dtype, self.tensor(key), files=[self])
                    for key, (shape, dtype, _) in entries.items()
                }
            else:
                state = self.mapper._read_torch(self.path)
                arrays = self.mapper._flatten(state, report)
                found = {
                    key: lazy(
                        a.shape,
                        a.dtype,
                        self.tensor(key),
                        files=[self],
                        where=(self.path, a.__array_interface__["data"][0], a.strides),
                    )
                    for key, a in arrays.items()
                }
            lacking = [key for key in self.listed if key not in found]
            if lacking:
                raise ValueError(
                    f"{self.path} lacks {len(lacking)} tensors its index lists:"
                    f" {', '.join(map(repr, lacking[:5]))}"
                    + (" ..." if len(lacking) > 5 else "")
                )
            return found

        def tensor(self, key):
            """A function giving the tensor `key` of this file (opening it)."""
            return lambda: self.arrays()[key]

        def arrays(self):
            """{key: array} of the open file: memory-mapped views, nothing copied."""
            if self._arrays is None:
                if self.path.endswith(".safetensors"):
                    entries = self.mapper._safetensors_entries(self.path)
                    self._arrays = self.mapper._safetensors_arrays(self.path, entries)
                else:
                    state = self.mapper._read_torch(self.path)
                    self._arrays = self.mapper._flatten(state, self.mapper.Report())
            return self._arrays

        def close(self):
            """Let go of the memory map (the pages it holds leave the process)."""
            self._arrays = None

    # ------------------------------------------------------------------ public API
    @classmethod
    def from_torch(
        cls,
        state,
        *,
        target=None,
        layout="linen",
        strict=False,
        num_heads=None,
        return_report=False,
    ):
        """Flax variables from a state dict (torch/numpy/jax), a .safetensors/.pt/
        .pth/.bin path, a sharded checkpoint (its *.index.json, a folder holding one, a
        list of shard paths).

        layout "linen" gives {"params": ..., "batch_stats": ...}, "nnx" a pure dict for
        nnx.replace_by_pure_dict. `target` (arrays or ShapeDtypeStructs, e.g.
        jax.eval_shape of model.init, or an NNX model) decides names, shapes, structure
        and dtypes; its own arrays stay where the checkpoint has nothing; a leaf with a
        sharding is made on it, each device reading only its part. strict=True
        raises one error listing every problem, else they are warned once. num_heads
        shapes attention kernels when there is no target. return_report=True returns
        (variables, report): `missing, unexpected = report` as in torch. It is
        `KeyMapper.plan(...)` then `.execute()`: a strict failure reads no tensor data,
        and files are read one shard at a time. What `switcheroo convert` wrote is
        read back as it is (see load_converted)."""
        import os
        import warnings

        if isinstance(state, (str, os.PathLike)) and cls._converted_info(
            os.fspath(state)
        ):
            tree = cls.load_converted(state, target=target)
            return (tree, cls.Report()) if return_report else tree
        plan = cls.plan(state, target=target, layout=layout, num_heads=num_heads)
        report = plan.report
        if strict and report:
            raise ValueError(f"checkpoint does not fit the model:\n{report!r}")
        if report:
            warnings.warn(f"KeyMapper.from_torch:\n{report!r}", stacklevel=2)
        tree = plan.execute()
        return (tree, report) if return_report else tree

    @classmethod
    def plan(cls, state, *, target=None, layout="linen", num_heads=None):
        """What from_torch(state, ...) would make, as a KeyMapper.Plan: print it to
        see every torch key's Flax path, transform, shape and dtype, and what does not
        fit."""
        if layout not in ("linen", "nnx"):
            raise ValueError(f'layout must be "linen" or "nnx", not {layout!r}')
        target, layout = cls._pure_target(target, layout)
        report = cls.Report()
        flat = cls._load(state, report)
        units = cls._units(flat, layout, num_heads, report, check=target is None)
        if target is None:
            return cls.Plan(cls, cls._place(units, layout, report), report, layout)
        return cls._place_in_target(
            units, target, layout, report, lambda keys: cls._ties(flat, keys)
        )

    @classmethod
    def map_name(cls, key, ndim=2, *, layout="linen"):
        """The Flax paths one torch tensor of rank `ndim` goes to, judged from its key
        alone."""
        import numpy as np

        return tuple(
            cls.map_value(key, np.zeros((12,) * ndim, np.float32), layout=layout)
        )

    @classmethod
    def map_value(cls, key, value, *, layout="linen"):
        """{Flax path: array} for one tensor on its own (a lone 2-D `weight` counts as
        Linear)."""
        report = cls.Report()
        out: dict = {}
        units = cls._units({key: cls._array(key, value)}, layout, None, report)
        plan = cls.Plan(cls, cls._place(units, layout, report), report, layout)
        cls._walk(plan.execute(), (), out.__setitem__)
        return out

    # ------------------------------------------------ what `switcheroo convert` wrote
    # The mark `switcheroo convert` leaves in its metadata (orbax's custom metadata,
    # the safetensors index and each shard's __metadata__); the value is the version
    # of the format.
    _CONVERTED = "switcheroo-flax"

    @classmethod
    def load_converted(cls, path, *, target=None):
        """The Flax variables that `switcheroo convert` wrote to `path` (its orbax
        directory, its safetensors directory or index), as they were converted: no
        names or layouts change. With a target (arrays or ShapeDtypeStructs, as
        jax.eval_shape gives them) each leaf takes the target's dtype and goes
        straight onto its sharding, and the trees must match leaf for leaf."""
        import os

        path = os.fspath(path)
        info = cls._converted_info(path)
        if info is None:
            raise ValueError(
                f"{path}: not a checkpoint written by `switcheroo convert`"
            )
        target, _ = cls._pure_target(target, info["layout"])
        if info["format"] == "orbax":
            return cls._restore_orbax(path, info, target)
        return cls._restore_safetensors(info, target)

    @classmethod
    def _converted_info(cls, path):
        """What `switcheroo convert` recorded at path ({"format", "layout",
        "integer_keys", "files"...}), or None when something else is there."""
        import json
        import os

        if os.path.isdir(path) and os.path.isfile(
            os.path.join(path, "_CHECKPOINT_METADATA")
        ):
            try:
                with open(os.path.join(path, "_CHECKPOINT_METADATA")) as file:
                    found = json.load(file).get("custom_metadata") or {}
                info = found.get(cls._CONVERTED)
            except (OSError, ValueError, AttributeError):
                return None
            return None if not isinstance(info, dict) else {**info, "format": "orbax"}
        if path.endswith(".safetensors") and os.path.isfile(path):
            folder = os.path.dirname(path)
            info = cls._converted_info(folder or ".")
            names = [os.path.basename(f) for f in (info or {}).get("files", ())]
            if os.path.basename(path) not in names:
                return None
            if len(names) > 1:
                raise ValueError(
                    f"{path} is one of {len(names)} shards of a converted checkpoint:"
                    f" pass its folder, {folder or '.'}"
                )
            return info
        if os.path.isdir(path):
            path = os.path.join(path, "model.safetensors.index.json")
        if not path.endswith(".index.json") or not os.path.isfile(path):
            return None
        try:
            with open(path) as file:
                index = json.load(file)
            info = index["metadata"][cls._CONVERTED]
            files = sorted(set(index["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        folder = os.path.dirname(path)
        return {
            **info,
            "format": "safetensors",
            "index": path,
            "files": [os.path.join(folder, name) for name in files],
        }

    @staticmethod
    def _converted_path(name, info):
        """The Flax path of a "/"-joined name: the parts that were integers (NNX's
        layer indices) become integers again."""
        parts = name.split("/")
        for position in info.get("integer_keys", {}).get(name, ()):
            parts[position] = int(parts[position])
        return tuple(parts)

    @classmethod
    def _restore_orbax(cls, path, info, target):
        """orbax restores onto the target's shardings itself; without a target it gives
        numpy arrays and string keys, which are put right here."""
        import jax
        import orbax.checkpoint as ocp

        path = cls._orbax_item(path)
        with ocp.StandardCheckpointer() as checkpointer:
            if target is not None:
                device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
                abstract = jax.tree.map(
                    lambda x: jax.ShapeDtypeStruct(
                        x.shape,
                        x.dtype,
                        sharding=getattr(x, "sharding", None) or device,
                    ),
                    target,
                )
                return checkpointer.restore(path, abstract)
            restored = checkpointer.restore(path)
        tree: dict = {}

        def put(parts, value):
            name = "/".join(map(str, parts))
            cls._insert(
                tree, cls._converted_path(name, info), cls._on_device(value), name
            )

        cls._walk(restored, (), put)
        return tree

    @staticmethod
    def _orbax_item(path):
        """The folder orbax keeps the tree in: the checkpoint itself, or (written in
        parts, orbax's newer layout) its one checkpointable, e.g. path/state."""
        import json
        import os

        with open(os.path.join(path, "_CHECKPOINT_METADATA")) as file:
            handlers = json.load(file).get("item_handlers")
        if isinstance(handlers, dict) and len(handlers) == 1:
            return os.path.join(path, next(iter(handlers)))
        return path

    @classmethod
    def _restore_safetensors(cls, info, target):
        """Each tensor memory-mapped from its shard and put on the device (or, with a
        target, each device's slice of it straight onto the target's sharding)."""
        import jax

        arrays = {}
        for file in info["files"]:
            arrays.update(cls._safetensors_arrays(file, cls._safetensors_entries(file)))
        if target is None:
            tree: dict = {}
            for name, array in arrays.items():
                value = cls._on_device(array)
                cls._insert(tree, cls._converted_path(name, info), value, name)
            return tree
        slots: dict = {}
        cls._walk(target, (), lambda parts, slot: slots.__setitem__(parts, slot))
        paths = {cls._converted_path(name, info): name for name in arrays}
        problems = [f"missing {'/'.join(map(str, p))}" for p in slots if p not in paths]
        problems += [f"unexpected {n}" for p, n in paths.items() if p not in slots]
        problems += [
            f"{name}: {arrays[name].shape} vs target {tuple(slots[p].shape)}"
            for p, name in paths.items()
            if p in slots and tuple(arrays[name].shape) != tuple(slots[p].shape)
        ]
        if problems:
            raise ValueError(
                "converted checkpoint does not fit the target: " + "; ".join(problems)
            )
        tree = {}
        for parts, slot in slots.items():
            array = arrays[paths[parts]]
            sharding = getattr(slot, "sharding", None)
            if sharding is None:
                value = jax.device_put(array.astype(slot.dtype, copy=False))
            else:
                value = cls._sharded(array, slot.dtype, sharding)
            cls._insert(tree, parts, value, paths[parts])
        return tree

    @staticmethod
    def _sharded(array, dtype, sharding):
        """The array on a sharding, each device given only its own slice of it (read
        from the memory map when it is one)."""
        import jax
        import numpy as np

        def slice_for(index):
            return np.asarray(array[index]).astype(dtype, copy=False)

        return jax.make_array_from_callback(array.shape, sharding, slice_for)

    @staticmethod
    def _on_device(array):
        """A jax array, as from_torch gives (64-bit arrays stay numpy unless x64 is on,
        so their values are kept)."""
        import jax
        import numpy as np

        array = np.asarray(array)
        if jax.dtypes.canonicalize_dtype(array.dtype) != array.dtype:
            return array
        return jax.device_put(array)

    # ----------------------------------------------------------- reading the checkpoint
    @staticmethod
    def _pure_target(target, layout):
        """An NNX model or State becomes its pure dict of parameters and batch
        statistics."""
        if target is None or not any(
            c.__module__.startswith("flax.nnx") for c in type(target).__mro__
        ):
            return target, layout
        from flax import nnx

        if isinstance(target, nnx.Module):
            target = nnx.state(target, (nnx.Param, nnx.BatchStat))
        if isinstance(target, nnx.State):
            return nnx.to_pure_dict(target), "nnx"
        return target, layout

    @classmethod
    def _load(cls, state, report):
        """{torch key: array} from a state dict, a model, a training checkpoint, or
        checkpoint files (a file, an index, a folder, a list of shards): their tensors
        are KeyMapper._Lazy, known by shape and dtype, nothing read yet."""
        if cls._is_checkpoint_path(state):
            flat: dict = {}
            for shard in cls._shards(state):
                for key, array in shard.header(report).items():
                    if key in flat:
                        raise ValueError(
                            f"{key!r} is in two shards: {flat[key].files[0].path}"
                            f" and {shard.path}"
                        )
                    flat[key] = array
            if not flat:
                raise ValueError("empty state dict: no tensors to convert")
            return flat
        return cls._flatten(state, report)

    @classmethod
    def _headers(cls, source):
        """{torch key: (shape, dtype name, file)} of a checkpoint on disk (a file, an
        index, a folder holding one, a list of shards), from the safetensors headers
        and the index alone: no tensor data is read (a torch file's pickle is, its
        tensors memory-mapped). What a preview or `inspect` shows before converting."""
        if not cls._is_checkpoint_path(source):
            raise TypeError(
                "expected a checkpoint path or a list of them,"
                f" not {type(source).__name__}"
            )
        flat = cls._load(source, cls.Report())
        return {
            key: (array.shape, array.dtype.name, array.files[0].path)
            for key, array in flat.items()
        }

    @staticmethod
    def _is_checkpoint_path(state):
        """A path, or a non-empty list of paths (the shards of one checkpoint)."""
        import os

        if isinstance(state, (list, tuple)):
            return bool(state) and all(isinstance(p, (str, os.PathLike)) for p in state)
        return isinstance(state, (str, os.PathLike))

    @classmethod
    def _shards(cls, source):
        """The files of a checkpoint, each a KeyMapper._Shard: the file itself, the
        shards an index names, what a folder holds, or each path of a list."""
        import os

        if isinstance(source, (list, tuple)):
            return [cls._Shard(cls, os.fspath(path)) for path in source]
        path = os.fspath(source)
        if path.endswith(".index.json"):
            return cls._indexed_shards(path)
        if os.path.isdir(path) and not path.endswith(".safetensors"):
            return cls._shards(cls._checkpoint_in(path))
        return [cls._Shard(cls, path)]

    @staticmethod
    def _checkpoint_in(folder):
        """The checkpoint a folder holds, as transformers saves one: a safetensors
        index, else one .safetensors file, else a torch index, else one torch file."""
        import glob
        import os

        for pattern in (
            "*.safetensors.index.json",
            "*.safetensors",
            "*.index.json",
            "*.bin",
            "*.pt",
            "*.pth",
        ):
            found = sorted(glob.glob(os.path.join(glob.escape(folder), pattern)))
            if len(found) == 1:
                return found[0]
            if found:
                names = ", ".join(os.path.basename(f) for f in found)
                raise ValueError(
                    f"{folder}: several checkpoints and no index to join them"
                    f" ({names}); pass the index, one file or a list of shards"
                )
        raise FileNotFoundError(
            f"{folder}: no checkpoint in it (a *.safetensors.index.json, a .safetensors"
            " file, a pytorch_model.bin.index.json or a .bin/.pt/.pth file)"
        )

    @classmethod
    def _indexed_shards(cls, index_path):
        """The shards a transformers index names ({"weight_map": {key: file}}), each
        with the keys it must hold; a shard that is not there is an error now."""
        import json
        import os

        try:
            with open(index_path) as file:
                index = json.load(file)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, RecursionError) as e:
            raise ValueError(
                f"{index_path}: not a readable checkpoint index ({e!r})"
            ) from None
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not all(
            isinstance(name, str) for name in weight_map.values()
        ):
            raise ValueError(
                f"{index_path}: not a checkpoint index (it needs a weight_map of"
                " torch key -> shard file)"
            )
        folder = os.path.dirname(index_path)
        by_file: dict = {}
        for key, name in weight_map.items():
            by_file.setdefault(os.path.join(folder, name), []).append(key)
        absent = [path for path in by_file if not os.path.isfile(path)]
        if absent:
            raise FileNotFoundError(
                f"{index_path} names shards that are not there: {', '.join(absent)}"
            )
        return [cls._Shard(cls, path, keys) for path, keys in by_file.items()]

    @classmethod
    def _flatten(cls, state, report):
        """{torch key: numpy array} from a state dict, a model or a training
        checkpoint (its other entries are reported as dropped)."""
        if callable(getattr(state, "state_dict", None)):
            state = state.state_dict()
        if not hasattr(state, "items"):
            raise TypeError(
                f"expected a state dict or checkpoint path, not {type(state).__name__}"
            )
        for wrapper in (
            "state_dict",
            "model_state_dict",
            "model",
        ):  # training checkpoints
            if hasattr(state.get(wrapper), "items"):
                report.dropped.extend(
                    f"{k} (beside {wrapper!r})" for k in state if k != wrapper
                )
                state = state[wrapper]
                break
        flat: dict = {}
        cls._walk(
            state,
            (),
            lambda path, value: flat.__setitem__(".".join(map(str, path)), value),
        )
        if not flat:
            raise ValueError("empty state dict: no tensors to convert")
        return {key: cls._array(key, value) for key, value in flat.items()}

    @staticmethod
    def _read_torch(path):
        """A torch file, memory-mapped (tensors are read when used) unless legacy."""
        try:
            import torch

            try:
                return torch.load(
                    path, map_location="cpu", weights_only=True, mmap=True
                )
            except RuntimeError as e:  # a legacy (non-zip) file cannot be memory-mapped
                if "mmap" not in str(e):
                    raise
                return torch.load(path, map_location="cpu", weights_only=True)
        except (FileNotFoundError, ImportError):
            raise
        except Exception as e:
            raise ValueError(
                f"{path}: not a readable PyTorch checkpoint ({e!r})"
            ) from None

    @staticmethod
    def _safetensors_dtypes():
        """{safetensors dtype: numpy dtype name} for the dtypes KeyMapper reads (the
        bf16 and FP8 names are ml_dtypes' own)."""
        return {
            "BOOL": "bool",
            "U8": "uint8",
            "I8": "int8",
            "U16": "uint16",
            "I16": "int16",
            "U32": "uint32",
            "I32": "int32",
            "U64": "uint64",
            "I64": "int64",
            "F16": "float16",
            "BF16": "bfloat16",
            "F32": "float32",
            "F64": "float64",
            "C64": "complex64",
            "F8_E4M3": "float8_e4m3fn",
            "F8_E5M2": "float8_e5m2",
        }

    @classmethod
    def _safetensors_entries(cls, path):
        """{key: (shape, numpy dtype, (start, stop) in the file)} of a .safetensors
        file, from its header alone; a dtype numpy cannot hold, or a tensor whose bytes
        do not match its shape, is an error naming the key."""
        import math

        import ml_dtypes
        import numpy as np

        header, data_start = cls._safetensors_header(path)
        readable = cls._safetensors_dtypes()
        entries = {}
        for key, entry in header.items():
            if entry["dtype"] not in readable:
                raise ValueError(
                    f"{path}: {key!r} is a {entry['dtype']} tensor, a dtype KeyMapper "
                    f"cannot read (it reads {', '.join(readable)})"
                )
            name = readable[entry["dtype"]]
            dtype = np.dtype(getattr(ml_dtypes, name, name))  # numpy's, or ml_dtypes'
            begin, end = entry["data_offsets"]
            if end - begin != math.prod(entry["shape"]) * dtype.itemsize:
                raise cls._unreadable_safetensors(
                    path, f"{key!r} has {end - begin} bytes for shape {entry['shape']}"
                )
            span = (data_start + begin, data_start + end)
            entries[key] = (tuple(entry["shape"]), dtype, span)
        return entries

    @staticmethod
    def _unreadable_safetensors(path, reason):
        """The error for a .safetensors file that is not one."""
        return ValueError(f"{path}: not a readable safetensors checkpoint ({reason})")

    @classmethod
    def _safetensors_header(cls, path):
        """({key: {"dtype", "shape", "data_offsets"}}, where the data starts) from a
        .safetensors file's header: 8 bytes of little-endian length, then that many
        bytes of JSON. Offsets count from the end of the header; each tensor's bytes
        must lie within the file."""
        import json
        import os

        try:
            size = os.path.getsize(path)
            with open(path, "rb") as file:
                length = int.from_bytes(file.read(8), "little")
                text = file.read(length) if size >= 8 and length <= size - 8 else None
        except FileNotFoundError:
            raise
        except OSError as e:  # a folder, a file we may not read
            raise cls._unreadable_safetensors(path, repr(e)) from None
        if text is None:
            raise cls._unreadable_safetensors(path, "the header is cut short")
        try:
            header = json.loads(text)
        except (ValueError, RecursionError) as e:  # not JSON, or nested without end
            raise cls._unreadable_safetensors(path, f"bad header: {e!r}") from None
        if not isinstance(header, dict):
            raise cls._unreadable_safetensors(path, "the header is not a JSON object")
        header.pop("__metadata__", None)
        for key, entry in header.items():
            if not cls._is_header_entry(entry, size - 8 - length):
                raise cls._unreadable_safetensors(path, f"bad header entry for {key!r}")
        return header, 8 + length

    @staticmethod
    def _is_header_entry(entry, data_size):
        """Whether one header entry names a dtype, a shape and bytes within the data."""
        if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
            return False
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not isinstance(shape, list) or not isinstance(offsets, list):
            return False
        numbers = [*shape, *offsets]
        if not all(type(n) is int and n >= 0 for n in numbers) or len(offsets) != 2:
            return False
        return offsets[0] <= offsets[1] <= data_size

    @staticmethod
    def _safetensors_arrays(path, entries):
        """{key: array}, views of one memory map of the file (checked entries): the
        bytes are read as the arrays are used, and released with the last view."""
        import numpy as np

        raw = None
        arrays = {}
        for key, (shape, dtype, (begin, end)) in entries.items():
            if begin == end:
                arrays[key] = np.zeros(shape, dtype)
                continue
            if raw is None:
                raw = np.memmap(path, np.uint8, "r")
            arrays[key] = raw[begin:end].view(dtype).reshape(shape)
        return arrays

    @staticmethod
    def _array(key, value):
        """A numpy array of the same dtype (bf16 and FP8 too: bits reinterpreted, never
        rounded). On CPU this shares the tensor's memory, which is how tied tensors are
        recognised."""
        import numpy as np

        if isinstance(value, KeyMapper._Lazy):  # read lazily from a file already
            return value
        if isinstance(value, (np.ndarray, np.generic)):
            return np.asarray(value)
        import jax
        import ml_dtypes

        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            import torch

            try:
                value = value.detach().cpu()
                bits_and_dtype = {  # dtypes torch's .numpy() refuses: read as bits
                    torch.bfloat16: (torch.int16, jax.dtypes.bfloat16),
                    torch.float8_e4m3fn: (torch.uint8, ml_dtypes.float8_e4m3fn),
                    torch.float8_e5m2: (torch.uint8, ml_dtypes.float8_e5m2),
                }.get(value.dtype)
                if bits_and_dtype is None:
                    return value.numpy()
                bits, dtype = bits_and_dtype
                return value.view(bits).numpy().view(dtype)
            except (TypeError, RuntimeError, NotImplementedError) as e:
                raise TypeError(
                    f"{key!r}: cannot read this {value.dtype} tensor: {e}"
                ) from None
        if isinstance(value, jax.Array):
            return np.asarray(value)
        raise TypeError(
            f"{key!r} holds a {type(value).__name__}, not a tensor or array"
        )

    @classmethod
    def _walk(cls, tree, prefix, visit, enclosing=None):
        """Call visit(path, value) for every leaf of a nested mapping. A mapping that
        holds itself, at any depth, is an error naming the cycle; `enclosing` maps
        each mapping being walked to its path."""
        enclosing = {} if enclosing is None else enclosing
        enclosing[id(tree)] = prefix
        for key, value in tree.items():
            path = (*prefix, key)
            if not hasattr(value, "items"):
                visit(path, value)
            elif id(value) in enclosing:
                raise ValueError(cls._cycle_message(path, enclosing[id(value)]))
            else:
                cls._walk(value, path, visit, enclosing)
        del enclosing[id(tree)]

    @staticmethod
    def _cycle_message(path, earlier):
        """Why a state dict that refers back to itself cannot be converted."""
        back_to = (
            repr(".".join(map(str, earlier))) if earlier else "the state dict itself"
        )
        return (
            f"{'.'.join(map(str, path))!r} refers back to {back_to}: "
            "a state dict that contains itself has no end"
        )

    @staticmethod
    def _ties(flat, wanted):
        """{key: earlier key} for the keys in `wanted` that repeat an earlier tensor:
        the same memory (torch's tied parameters), or identical values where one of
        the two is an embedding (a tied output layer saved by value, as numpy or
        safetensors input does). Values are read for the wanted keys only."""
        import numpy as np

        value_of = KeyMapper._Lazy.value_of

        def embedding_like(key):
            return any(
                word in key.lower() for word in ("embed", "wte", "shared", "tok")
            )

        ties: dict = {}
        seen: dict = {}
        by_shape: dict = {}
        for key, array in flat.items():
            if array.ndim == 0 or array.size == 0:
                continue
            if isinstance(array, KeyMapper._Lazy):  # a file's tensor
                where = (array.where, array.shape)
            else:
                interface = array.__array_interface__
                where = ((interface["data"][0], array.strides), array.shape)
            if where in seen and where[0] is not None:
                ties[key] = seen[where]
                continue
            seen[where] = key
            if array.ndim != 2:
                continue
            for earlier in by_shape.get((array.shape, array.dtype), []):
                if (
                    key in wanted
                    and (embedding_like(key) or embedding_like(earlier))
                    and np.array_equal(value_of(array), value_of(flat[earlier]))
                ):
                    ties[key] = earlier
                    break
            else:
                by_shape.setdefault((array.shape, array.dtype), []).append(key)
        return ties

    @staticmethod
    def _is_fixed_buffer(key, array):
        """A tensor torch keeps but a Flax model recomputes: position ids, rotary
        frequencies, causal masks, sinusoidal position tables."""
        import numpy as np

        name = key.rsplit(".", 1)[-1]
        if name in (
            "position_ids",
            "inv_freq",
            "masked_bias",
            "_float_tensor",
            "token_type_ids",
        ):
            return True
        if (
            name == "bias" and array.ndim == 4 and array.shape[:2] == (1, 1)
        ):  # causal mask
            return True
        if "pos" not in key.lower() or array.ndim != 2 or not array.size:
            return False
        # sin/cos: within [-1, 1], row 0 is sin 0 / cos 0
        values = np.asarray(KeyMapper._Lazy.value_of(array), np.float64)
        first = values[0]
        return bool(
            np.abs(values).max() <= 1 + 1e-6 and np.all((first == 0) | (first == 1))
        )

    # -------------------------------------------------------------- reading the modules
    @classmethod
    def _group_by_module(cls, flat):
        """{torch module path: {tensor name: (key, array)}} without wrapper prefixes
        (`module.` of DataParallel, `_orig_mod.` of torch.compile). Weight norm's g and
        v, both the parametrization form (torch >= 2.1) and the old one, are named
        weight_g and weight_v."""
        groups: dict = {}
        for key, array in flat.items():
            parts = [p for p in key.split(".") if p != "_orig_mod"]
            if not parts:
                raise ValueError(
                    f"{key!r} is only wrapper prefixes (`_orig_mod.` of torch.compile):"
                    " no tensor name is left after unwrapping"
                )
            while parts[0] == "module" and len(parts) > 1:
                parts.pop(0)
            if len(parts) >= 3 and parts[-3] == "parametrizations":
                side = {"original0": "g", "original1": "v"}.get(parts[-1])
                if side:
                    parts = [*parts[:-3], f"{parts[-2]}_{side}"]
            group = groups.setdefault(tuple(parts[:-1]), {})
            if parts[-1] in group:
                raise ValueError(
                    f"{group[parts[-1]][0]!r} and {key!r} are one after unwrapping"
                )
            group[parts[-1]] = (key, array)
        return groups

    @classmethod
    def _units(cls, flat, layout, heads, report, check=True):
        """The checkpoint as units, one per torch module (one per RNN layer and
        direction)."""
        import re

        groups = cls._group_by_module(flat)
        units = []

        def attention(module):
            group = groups.get(module, {})
            return "in_proj_weight" in group or "q_proj_weight" in group

        for module in list(groups):
            if module[-1:] == ("out_proj",) and attention(module[:-1]):
                continue  # taken with its attention (a shard may list it first)
            group = groups.pop(module, None)
            if group is None:  # an attention's out_proj, taken with its attention
                continue
            recurrent = {}
            for name in list(group):
                match = re.fullmatch(
                    r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?", name
                )
                if match:
                    recurrent[match.groups()] = group.pop(name)
            if recurrent:
                units += cls._rnn(module, recurrent, layout)
            if "in_proj_weight" in group or "q_proj_weight" in group:
                for name, entry in groups.pop((*module, "out_proj"), {}).items():
                    group[f"out_{name}"] = entry
                leaves, doubt = cls._attention(module, group, heads, report)
                forms, kernel = [cls._Form(leaves)], ""
            else:
                forms, kernel, doubt = cls._plain(group, report, check)
            if any(
                form.leaves for form in forms
            ):  # (a lone num_batches_tracked gives nothing)
                keys = [key for key, _ in group.values()]
                units.append(
                    cls._Unit(module, forms, keys, layout, doubt=doubt, kernel=kernel)
                )
        return units

    @classmethod
    def _plain(cls, group, report, check):
        """Linear, Conv*, norms, Embedding, weight norm and loose tensors: the readings
        of the module, its kind of 2-D kernel and what is a guess about it."""
        renamed, as_named = {}, {}
        weight_norm = "weight_g" in group and "weight_v" in group
        for name, (key, array) in group.items():
            if name == "num_batches_tracked":
                report.dropped.append(key)
                continue
            as_named[(name,)] = cls._Leaf(array, key)
            if name == "weight" or (weight_norm and name in ("weight_g", "weight_v")):
                continue
            flax_name, collection = {
                "running_mean": ("mean", "batch_stats"),
                "running_var": ("var", "batch_stats"),
            }.get(name, (name, "params"))
            renamed[(flax_name,)] = cls._Leaf(array, key, collection=collection)
        if weight_norm:
            weight = cls._weight_from_norm(group["weight_g"], group["weight_v"])
        else:
            weight = group.get("weight")
        if weight is None:
            forms = [cls._Form(renamed)]
            kernel = doubt = ""
        else:
            key, w = weight
            shapes = {name: array.shape for name, (_, array) in group.items()}
            readings, kernel, doubt = cls._weight_readings(w.shape, shapes)
            if check:
                cls._check_module(readings[0][0], w.shape, shapes, group)
            forms = [
                cls._Form({**renamed, (name,): cls._Leaf(w, key, perm)})
                for name, perm in readings
            ]
            doubt = f"{key} {w.shape}: {doubt}" if doubt else ""
        # the target may use the torch names themselves (RMSNorm `weight`, weight norm's
        # weight_g/weight_v in transformers) or g/v: those readings keep torch's layout
        if set(as_named) != set(forms[0].leaves):
            forms.append(cls._Form(as_named))
        if weight_norm:
            short = {
                (name[0].replace("weight_", ""),): leaf
                for name, leaf in as_named.items()
            }
            forms.append(cls._Form(short))
        return forms, kernel, doubt

    @staticmethod
    def _weight_readings(shape, siblings):
        """What a module's `weight` is, from its shape and its siblings' shapes: [(Flax
        name, axis order)] most likely first, the kind of 2-D kernel, and a doubt if
        nothing decides."""
        ndim, bias = len(shape), siblings.get("bias")
        if (
            "running_mean" in siblings or ndim == 1 or bias == shape
        ):  # Batch/Layer/GroupNorm
            return [("scale", None)], "", ""
        if ndim >= 3:  # Conv: (O, I/g, *k) -> (*k, I/g, O)
            return [("kernel", (*range(2, ndim), 1, 0))], "", ""
        if ndim == 2 and bias is not None:
            out_first, in_first = bias == shape[:1], bias == shape[1:]
            if out_first and in_first:
                return [("kernel", (1, 0)), ("kernel", None)], "square", ""
            if in_first:  # transformers' Conv1D: (in, out) with bias (out,)
                return [("kernel", None), ("kernel", (1, 0))], "conv1d", ""
            return [("kernel", (1, 0))], "linear", ""
        if ndim == 2:
            return (
                [("kernel", (1, 0)), ("embedding", None)],
                "",
                "Linear or Embedding? (pass target=)",
            )
        return [("weight", None)], "", ""

    @staticmethod
    def _check_module(reading, shape, shapes, group):
        """Without a target, shapes that contradict each other are an error naming the
        keys."""
        bias = shapes.get("bias")
        bad = (
            reading == "kernel"
            and len(shape) == 2
            and bias not in (None, shape[:1], shape[1:])
        )
        bad = bad or (
            reading == "scale" and {s for s in shapes.values() if s} != {shape}
        )
        if bad:
            named = {key: array.shape for key, array in group.values()}
            raise ValueError(f"shapes of one module do not fit together: {named}")

    @staticmethod
    def _weight_from_norm(g_entry, v_entry):
        """Weight norm's weight g * v / ||v||, the norm taken over every axis where g
        has size 1 (all but torch's `dim`; dim=None gives a scalar g and the norm over
        everything)."""
        import numpy as np

        (g_key, g), (v_key, v) = g_entry, v_entry
        if g.ndim == v.ndim:
            axes = tuple(axis for axis in range(v.ndim) if g.shape[axis] == 1)
        else:
            axes = tuple(range(v.ndim))

        def weight(g, v):
            v64 = np.asarray(v, np.float64)
            norm = np.sqrt(np.sum(v64 * v64, axis=axes, keepdims=True))
            return (np.asarray(g, np.float64) * v64 / norm).astype(v.dtype)

        lazy = KeyMapper._Lazy(v.shape, v.dtype, weight, [g, v])
        return f"{g_key} + {v_key}", lazy

    @classmethod
    def _attention(cls, module, group, heads, report):
        """nn.MultiheadAttention: in_proj split into query/key/value; out_proj -> out.
        Flax keeps the heads as an axis: kernel (E, H, D), bias (H, D), out kernel (H,
        D, E)."""

        group, name = dict(group), ".".join(module)
        rows: dict = {}  # the part of in_proj each of q, k, v takes
        for suffix in ("weight", "bias"):
            if f"in_proj_{suffix}" not in group:
                continue
            key, packed = group[f"in_proj_{suffix}"]
            if packed.shape[0] % 3:
                raise ValueError(
                    f"{key!r}: shape {packed.shape} does not split into"
                    " query, key, value"
                )
            size = packed.shape[0] // 3
            for i, letter in enumerate("qkv"):
                third = packed[i * size : (i + 1) * size]
                group[f"{letter}_proj_{suffix}"] = (key, third)
                rows[f"{letter}_proj_{suffix}"] = (i * size, (i + 1) * size)
        embed = group["q_proj_weight"][1].shape[0]
        if heads and embed % heads:
            raise ValueError(
                f"{name}: embed dim {embed} is not divisible by {heads} heads"
            )
        leaves = {}
        for torch_prefix, flax_name in (
            ("q_proj_", "query"),
            ("k_proj_", "key"),
            ("v_proj_", "value"),
            ("out_", "out"),
        ):
            for suffix, flax_leaf, perm in (
                ("weight", "kernel", (1, 0)),
                ("bias", "bias", None),
            ):
                if torch_prefix + suffix not in group:
                    continue
                key, array = group[torch_prefix + suffix]
                shape: object = True  # as the target has it
                if heads and flax_name == "out":
                    shape = (heads, -1, embed) if suffix == "weight" else True
                elif heads:
                    shape = (
                        (-1, heads, embed // heads)
                        if suffix == "weight"
                        else (heads, -1)
                    )
                leaves[(flax_name, flax_leaf)] = cls._Leaf(
                    array,
                    key,
                    perm,
                    reshape=shape,
                    rows=rows.get(torch_prefix + suffix),
                )
        report.unexpected_keys.extend(
            f"{group[n][0]} (not in Flax)" for n in ("bias_k", "bias_v") if n in group
        )
        doubt = "" if heads else f"{name}: how many heads? (pass num_heads=)"
        return leaves, doubt

    @classmethod
    def _rnn(cls, module, params, layout):
        """nn.LSTM / nn.GRU / nn.RNN: one unit per layer and direction."""
        cells: dict = {}
        for (kind, side, layer, reverse), (key, array) in params.items():
            if side == "hr":
                raise ValueError(f"{key!r}: LSTM proj_size has no Flax equivalent")
            cells.setdefault((int(layer), bool(reverse)), {})[f"{kind}_{side}"] = (
                key,
                array,
            )
        stacked = len({layer for layer, _ in cells}) > 1
        bidirectional = any(reverse for _, reverse in cells)
        units = []
        for (layer, reverse), cell in sorted(cells.items()):
            where = f"{'.'.join(module)} layer {layer}{' reverse' if reverse else ''}"
            parts = [*module, *(["layers", str(layer)] if stacked else [])]
            if bidirectional:
                parts.append("backward_rnn" if reverse else "forward_rnn")
            forms = cls._rnn_cell_forms(where, cell, layout)
            keys = [key for key, _ in cell.values()]
            units.append(cls._Unit([*parts, "cell"], forms, keys, layout, name=where))
        return units

    @classmethod
    def _rnn_cell_forms(cls, where, cell, layout):
        """The readings of one cell. Gates are i, f, g, o (LSTM), r, z, n (GRU) or one
        (RNN). linen cells and nnx.LSTMCell hold a dense per gate and side;
        nnx.OptimizedLSTMCell, GRUCell and SimpleCell a dense per side with the gates
        side by side. b_ih + b_hh is summed where Flax has one bias; GRU's n gate keeps
        both (r multiplies the hidden one)."""
        import numpy as np

        if "weight_ih" not in cell or "weight_hh" not in cell:
            raise ValueError(
                f"{where}: needs both weight_ih and weight_hh, has {sorted(cell)}"
            )
        (ki, wi), (kh, wh) = cell["weight_ih"], cell["weight_hh"]
        hidden = wh.shape[-1]
        gates = wi.shape[0] // max(hidden, 1)
        no_bias = ("", np.zeros(wi.shape[0], wi.dtype))
        (kbi, bi), (kbh, bh) = (
            cell.get("bias_ih", no_bias),
            cell.get("bias_hh", no_bias),
        )
        letters, bias_side = {
            4: ("ifgo", "hhhh"),
            3: ("rzn", "ii*"),
            1: (" ", "i"),
        }.get(gates, ("", ""))
        sizes = {wi.shape[0], wh.shape[0], bi.shape[0], bh.shape[0]}
        if (
            not letters
            or sizes != {gates * hidden}
            or (wi.ndim, wh.ndim, bi.ndim, bh.ndim) != (2, 2, 1, 1)
        ):
            raise ValueError(
                f"{ki!r} {wi.shape}, {kh!r} {wh.shape}: not LSTM/GRU/RNN weights"
            )
        summed, summed_key = cls._exact_sum(bi, bh), f"{kbi}+{kbh}".strip("+")
        rows = [slice(j * hidden, (j + 1) * hidden) for j in range(gates)]
        per_gate = {}
        for j, (letter, side) in enumerate(zip(letters, bias_side, strict=True)):
            input_dense = (
                "if_" if layout == "nnx" and letter == "f" else f"i{letter}"
            ).strip()
            hidden_dense = f"h{letter}".strip()
            span = (rows[j].start, rows[j].stop)
            per_gate[(input_dense, "kernel")] = cls._Leaf(
                wi[rows[j]], ki, (1, 0), rows=span
            )
            per_gate[(hidden_dense, "kernel")] = cls._Leaf(
                wh[rows[j]], kh, (1, 0), rows=span
            )
            if side == "*":
                per_gate[(input_dense, "bias")] = cls._Leaf(bi[rows[j]], kbi, rows=span)
                per_gate[(hidden_dense, "bias")] = cls._Leaf(
                    bh[rows[j]], kbh, rows=span
                )
            else:
                dense = input_dense if side == "i" else hidden_dense
                per_gate[(dense, "bias")] = cls._Leaf(
                    summed[rows[j]], summed_key, dtype=bi.dtype, rows=span
                )
        if layout == "linen":
            return [cls._Form(per_gate)]
        parts = [
            (bi if side == "*" else summed)[rows[j]] for j, side in enumerate(bias_side)
        ]
        fused_bias = cls._Lazy(
            (wi.shape[0],),
            np.result_type(*(part.dtype for part in parts)),
            lambda *values: np.concatenate(values),
            parts,
        )
        fused = {
            ("dense_i", "kernel"): cls._Leaf(wi, ki, (1, 0)),
            ("dense_h", "kernel"): cls._Leaf(wh, kh, (1, 0)),
            ("dense_h" if bias_side[0] == "h" else "dense_i", "bias"): cls._Leaf(
                fused_bias, summed_key, dtype=bi.dtype
            ),
        }

        def lost():  # read from values, so only asked when this reading is used
            hidden_n_bias = [
                bh[rows[j]] for j, side in enumerate(bias_side) if side == "*"
            ]
            if any(np.any(cls._Lazy.value_of(part)) for part in hidden_n_bias):
                return [f"{kbh} (nnx.GRUCell has no n-gate hidden bias)"]
            return []

        fused_form = cls._Form(fused, lost)
        return [cls._Form(per_gate), fused_form] if gates == 4 else [fused_form]

    @staticmethod
    def _exact_sum(a, b):
        """a + b in at least fp32 (a bf16/fp16 sum would round before the target's
        dtype is known), computed when the plan is executed."""
        import numpy as np

        if (a.dtype.kind == "f" and a.dtype.itemsize < 4) or a.dtype.kind not in "fc":
            dtype = np.dtype(np.float32)
        else:
            dtype = np.result_type(a.dtype, b.dtype)

        def add(a, b):
            return np.asarray(a, dtype) + np.asarray(b, dtype)

        return KeyMapper._Lazy(a.shape, dtype, add, [a, b])

    # ------------------------------------------------------------------ square kernels
    @staticmethod
    def _orient_squares(units, report, sibling_perm, has_target):
        """A square 2-D weight with a bias is an nn.Linear (out, in) or a transformers
        Conv1D (in, out), and its shapes cannot say which. Its own module can: layers
        beside it (same parent) whose shapes did decide, e.g. GPT-2's c_attn beside
        c_proj; siblings that disagree make it ambiguous. Without them it is a Linear,
        as torch models mostly have; a Conv1D elsewhere says nothing about it, but
        without a target, in a checkpoint that holds Conv1D layers, that default is
        reported as ambiguous. Returns {unit: axis order of its kernel}."""
        conv1d_anywhere = any(unit.kernel == "conv1d" for unit in units)
        by_parent: dict = {}
        for unit in units:
            by_parent.setdefault(unit.parts[:-1], []).append(unit)
        orders = {}
        for unit in units:
            if unit.kernel != "square":
                continue
            siblings = [
                u
                for u in by_parent[unit.parts[:-1]]
                if u.kernel in ("linear", "conv1d")
            ]
            perms = {sibling_perm(u) for u in siblings} - {"unplaced"}
            if len(perms) == 1:
                orders[unit] = perms.pop()
                continue
            orders[unit] = (1, 0)
            if len(perms) > 1 or (conv1d_anywhere and not has_target):
                report.ambiguous.append(
                    f"{unit.name}.weight {unit.forms[0].leaves[('kernel',)].shape}:"
                    " nn.Linear or transformers Conv1D? (nothing in its module says)"
                )
        return orders

    @staticmethod
    def _with_kernel_order(unit, perm):
        """The unit's reading whose kernel takes the axis order `perm`."""
        for form in unit.forms:
            leaf = form.leaves.get(("kernel",))
            if leaf is not None and leaf.perm == perm:
                return form
        return unit.forms[0]

    # --------------------------------------------------------------- placing, no target
    @classmethod
    def _place(cls, units, layout, report):
        """Each unit's first reading at its own name: with no target, nothing says
        otherwise."""

        def perm_read(unit):
            return None if unit.kernel == "conv1d" else (1, 0)

        orders = cls._orient_squares(units, report, perm_read, has_target=False)
        entries = []
        for unit in units:
            form = (
                cls._with_kernel_order(unit, orders[unit])
                if unit in orders
                else unit.forms[0]
            )
            report.unexpected_keys.extend(form.lost)
            if unit.doubt:
                report.ambiguous.append(unit.doubt)
            for rel, leaf in form.leaves.items():
                collection = (leaf.collection,) if layout == "linen" else ()
                entries.append(cls.Entry((*collection, *unit.prefix, *rel), leaf))
        skeleton: dict = {}  # two tensors at one place are an error before any is read
        for entry in entries:
            cls._insert(skeleton, entry.path, None, entry.key)
        return entries

    @classmethod
    def _make(cls, entries):
        """Flax arrays for plan entries, made a group at a time: the entries reading the
        same checkpoint files together, each file's memory map let go after its group,
        so that memory holds one shard's pages beyond the output."""
        import jax

        groups: dict = {}
        for index, entry in enumerate(entries):
            files = getattr(entry.leaf.array, "files", ())
            groups.setdefault(files, []).append(index)
        out: list = [None] * len(entries)
        for files, indices in groups.items():
            made = cls._make_group([entries[i] for i in indices], copy=bool(files))
            jax.block_until_ready(made)  # the copies are done with the memory map
            for index, value in zip(indices, made, strict=True):
                out[index] = value
            for shard in files:
                shard.close()
        return out

    @staticmethod
    def _make_group(entries, copy):
        """Arrays for entries: one with a sharding over several devices straight onto
        it, each device reading only its own slice of the (transposed) view; the rest
        sent to the device in one batch (copying a transposed view there is the
        transpose: PJRT's strided copy beats numpy and jnp). `copy`: the arrays are
        views of a file's memory map, which the result must not keep."""
        import jax
        import numpy as np

        def own(x):
            # JAX on CPU adopts an aligned contiguous array without copying: a view of
            # the file would tie the result to it (a transposed view it copies anyway)
            return np.array(x) if copy and x.flags.c_contiguous else x

        out: list = []
        batch = []  # (index in out, the sharding or None)
        for entry in entries:
            spread = entry.sharding is not None and len(entry.sharding.device_set) > 1
            dtype = np.dtype(entry.dtype)
            fits = jax.dtypes.canonicalize_dtype(dtype) == dtype
            if spread and fits:
                view = entry.leaf.view(entry.shape)

                def piece(index, view=view, dtype=dtype):
                    part = np.asarray(view[index])
                    return own(part) if part.dtype == dtype else part.astype(dtype)

                shape = tuple(entry.shape)
                out.append(jax.make_array_from_callback(shape, entry.sharding, piece))
                continue
            x = entry.leaf.value(entry.shape, entry.dtype)
            if fits:
                batch.append((len(out), entry.sharding))
                x = own(x)
            elif copy:  # 64-bit arrays stay numpy unless jax_enable_x64: values kept
                x = np.array(x)
            out.append(x)
        if batch:
            arrays = [out[index] for index, _ in batch]
            shardings = [sharding for _, sharding in batch]
            if all(sharding is None for sharding in shardings):
                placed = jax.device_put(arrays)
            else:
                placed = jax.device_put(arrays, shardings)
            for (index, _), x in zip(batch, placed, strict=True):
                out[index] = x
        return out

    @staticmethod
    def _insert(tree, path, value, key):
        """Put value at path in a nested dict; two tensors at one place are an error."""
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict) or path[-1] in node:
            raise ValueError(f"{key!r} collides with another tensor at {path}")
        node[path[-1]] = value

    # -------------------------------------------------------------- placing in a target
    @classmethod
    def _place_in_target(cls, units, target, layout, report, ties):
        """Put each unit where the target has room for it, on evidence: names, then
        order, then shapes. A torch module's children stay together inside one Flax
        module."""
        if not hasattr(target, "items"):
            raise TypeError(
                f"target must be a tree of arrays, not {type(target).__name__}"
            )
        placement = cls._Placement(cls, target, layout, report)
        root = cls._Node("", ())
        for unit in units:
            node = root
            for part in unit.parts:
                if part not in node.children:
                    node.children[part] = cls._Node(part, (*node.path, part))
                node = node.children[part]
            node.units.append(unit)
        placement.match(root, (), placement.modules)
        orders = cls._orient_squares(
            units, report, placement.kernel_perm, has_target=True
        )
        for unit, perm in orders.items():
            placement.reorient(unit, perm)
        for unit in units:
            if unit not in placement.placed:
                placement.pending.extend(unit.keys)
        placement.account(units, ties)
        return placement.plan()

    class _Placement:
        """The state of placing units in one target: its slots (leaf shapes by path,
        linen's collections merged), what went where, and the evidence for it."""

        def __init__(self, mapper, target, layout, report):
            self.mapper, self.report, self.layout = mapper, report, layout
            # (full path, value) of every target leaf, in the target's order
            self.order: list = []
            mapper._walk(
                target, (), lambda path, value: self.order.append((path, value))
            )
            self.skip = 1 if layout == "linen" and "params" in target else 0
            self.slots = {
                path[self.skip :]: value
                for path, value in self.order
                if hasattr(value, "shape")
            }
            self.modules: dict = {}  # the slots as a tree of modules
            for path, slot in self.slots.items():
                node = self.modules
                for name in path[:-1]:
                    node = node.setdefault(name, {})
                    if not isinstance(node, dict):
                        break
                else:
                    node.setdefault(path[-1], slot)
            self.chosen: dict = {}  # target path -> _Leaf
            self.placed: dict = {}  # unit -> (prefix, form)
            # torch keys without a place (sorted out by account)
            self.pending: list = []
            self.signatures: dict = {}

        # -------------------------------------------------------- one unit at one place
        def readings_fitting(self, unit, prefix):
            """The unit's readings whose every leaf has a free slot of its shape under
            prefix."""
            fitting = []
            for form in unit.forms:
                paths = [(*prefix, *rel) for rel in form.leaves]
                if all(
                    path in self.slots
                    and path not in self.chosen
                    and leaf.fits(self.slots[path])
                    for path, leaf in zip(paths, form.leaves.values(), strict=True)
                ):
                    fitting.append(form)
            return fitting

        def settle(self, unit, prefix):
            """Place a unit under prefix in its best reading; what does not fit is
            reported."""
            report = self.report

            def score(indexed):
                index, form = indexed
                at = [((*prefix, *rel), leaf) for rel, leaf in form.leaves.items()]
                fit = sum(
                    p in self.slots and p not in self.chosen and f.fits(self.slots[p])
                    for p, f in at
                )
                return (fit == len(at), fit, -index)

            _, form = max(enumerate(unit.forms), key=score)
            for rel, leaf in form.leaves.items():
                path = (*prefix, *rel)
                slot = self.slots.get(path)
                if slot is not None and path not in self.chosen and leaf.fits(slot):
                    self.chosen[path] = leaf
                elif slot is not None and path not in self.chosen:
                    shown = "/".join(map(str, path))
                    report.mismatched.append(
                        (leaf.key, shown, leaf.shape, tuple(slot.shape))
                    )
                else:
                    self.pending.append(leaf.key)
            report.unexpected_keys.extend(form.lost)
            self.placed[unit] = (prefix, form)
            if prefix not in unit.spellings:
                report.renamed.append((unit.name, "/".join(map(str, prefix))))

        def kernel_perm(self, unit):
            """How this unit's kernel went into the target: transposed (1, 0) or as is
            (None)."""
            if unit not in self.placed:
                return "unplaced"
            leaf = self.placed[unit][1].leaves.get(("kernel",))
            return "unplaced" if leaf is None else leaf.perm

        def reorient(self, unit, perm):
            """Give a placed square kernel the axis order its module decided."""
            if unit not in self.placed:
                return
            prefix, form = self.placed[unit]
            chosen_form = self.mapper._with_kernel_order(unit, perm)
            path = (*prefix, "kernel")
            if self.chosen.get(path) is form.leaves.get(("kernel",)):
                self.chosen[path] = chosen_form.leaves[("kernel",)]
                self.placed[unit] = (prefix, chosen_form)

        def account(self, units, ties):
            """Keys without a place: tied to another tensor, a fixed buffer, or
            unexpected."""
            arrays: dict = {}
            for unit in units:
                for form in unit.forms:
                    for leaf in form.leaves.values():
                        arrays.setdefault(leaf.key, leaf.array)
            seen = set(self.report.unexpected_keys)
            # whether a tensor repeats another is read from values: only when needed
            ties = ties(set(self.pending)) if self.pending else {}
            for key in self.pending:
                if key in seen:
                    continue
                seen.add(key)
                array = arrays.get(key)
                if key in ties:
                    self.report.tied.append((key, ties[key]))
                elif array is not None and self.mapper._is_fixed_buffer(key, array):
                    self.report.buffers.append(key)
                else:
                    self.report.unexpected_keys.append(key)

        # ------------------------------------------------ a torch module, a Flax module
        def match(self, node, prefix, module):
            """A torch module placed at a Flax module: its own tensors there, its
            children among the Flax module's submodules."""
            for unit in node.units:
                self.settle(unit, prefix)
            items = [self.item(child, (), ()) for child in node.children.values()]
            members = [
                ((*prefix, name), sub)
                for name, sub in module.items()
                if isinstance(sub, dict)
            ]
            self.match_children(items, members, at_root=not prefix)

        @staticmethod
        def item(node, parent_aliases, parent_rel):
            """A torch child as a candidate: the node, the names a Flax model may give
            it (linen joins a Sequential index to its parent: blocks.3 -> blocks_3) and
            its path from the level being matched."""
            aliases = [node.name]
            if node.name.isdigit():
                aliases += [f"{alias}_{node.name}" for alias in parent_aliases]
            return (node, aliases, (*parent_rel, node.name))

        def match_children(self, items, members, at_root=False):
            """Pair torch children with Flax submodules: by name; else through a
            container that only one side has (a torch Sequential the port inlined, an
            nnx.Sequential's `layers`); then by order and shape."""
            if at_root:
                items = [
                    (
                        node,
                        [
                            *aliases,
                            *([f"layers_{node.name}"] if node.name.isdigit() else []),
                        ],
                        rel,
                    )
                    for node, aliases, rel in items
                ]
            while True:
                self.pair_by_name(items, members)
                if self.open_torch_containers(items, members):
                    continue
                if not self.open_flax_modules(items, members):
                    break
            self.pair_by_order(items, members, exact=True)
            self.pair_by_order(items, members, exact=False)

        def pair_by_name(self, items, members):
            """Same names pair, the torch child's own name or its linen spelling.
            Indices pair by rank when the two sides count differently: a torch
            Sequential numbers its ReLUs too (net.0, net.2, ...), an nnx.List of the
            Linears alone does not (layers/0, layers/1)."""
            names = {str(path[-1]): (path, sub) for path, sub in members}
            torch_indices = sorted(int(e[0].name) for e in items if e[0].name.isdigit())
            flax_indices = sorted(int(name) for name in names if name.isdigit())
            by_rank = {}
            if torch_indices != flax_indices and len(torch_indices) == len(
                flax_indices
            ):
                by_rank = dict(
                    zip(map(str, torch_indices), map(str, flax_indices), strict=True)
                )
            for entry in list(items):
                node, aliases, _ = entry
                if node.name in by_rank:
                    aliases = [by_rank[node.name], *aliases[1:]]
                hit = next((names[a] for a in aliases if a in names), None)
                if hit is None:
                    continue
                path, sub = hit
                items.remove(entry)
                members.remove(hit)
                del names[str(path[-1])]
                self.match(node, path, sub)

        def open_torch_containers(self, items, members):
            """A torch module with only children that no Flax submodule can hold as a
            whole (a Sequential the port inlined) is replaced by its children, in order.
            """
            opened = False
            for entry in list(items):
                node, aliases, rel = entry
                if node.units or any(
                    self.compatible(entry, m, exact=False) for m in members
                ):
                    continue
                at = items.index(entry)
                children = [self.item(c, aliases, rel) for c in node.children.values()]
                items[at : at + 1] = children
                opened = True
            return opened

        def open_flax_modules(self, items, members):
            """Likewise a Flax submodule (without leaves of its own) that no torch child
            fits, e.g. the `layers` of an nnx.Sequential or a wrapper such as nn.RNN's.
            """
            opened = False
            for member in list(members):
                path, sub = member
                if any(not isinstance(v, dict) for v in sub.values()):
                    continue
                if any(self.compatible(entry, member, exact=False) for entry in items):
                    continue
                at = members.index(member)
                members[at : at + 1] = [
                    ((*path, k), v) for k, v in sub.items() if isinstance(v, dict)
                ]
                opened = True
            return opened

        def signature(self, thing):
            """The sizes of every tensor a torch node or Flax module holds: invariant
            under the transposes and reshapes of the conversion, so equal for a module
            and its port."""
            import numpy as np

            cache_key = id(thing)
            if cache_key not in self.signatures:
                sizes: list = []
                if isinstance(thing, dict):
                    self.mapper._walk(
                        thing,
                        (),
                        lambda _, slot: sizes.append(int(np.prod(slot.shape))),
                    )
                else:
                    stack = [thing]
                    while stack:
                        node = stack.pop()
                        for unit in node.units:
                            sizes += [
                                leaf.array.size
                                for leaf in unit.forms[0].leaves.values()
                            ]
                        stack.extend(node.children.values())
                self.signatures[cache_key] = (thing, tuple(sorted(sizes)))
            return self.signatures[cache_key][1]

        def free_slots(self, prefix, sub):
            found: list = []
            self.mapper._walk(sub, prefix, lambda path, _: found.append(path))
            return {path for path in found if path not in self.chosen}

        def compatible(self, entry, member, exact):
            """Could this torch child be that Flax submodule? A single module if one of
            its readings fits (exactly: it fills every slot there); a container if the
            tensor sizes under both are the same."""
            node, _, _ = entry
            path, sub = member
            if len(node.units) == 1 and not node.children:
                unit = node.units[0]
                free = self.free_slots(path, sub)
                for form in self.readings_fitting(unit, path):
                    taken = {(*path, *rel) for rel in form.leaves}
                    if not exact or taken == free:
                        return True
                return False
            return self.signature(node) == self.signature(sub)

        def pair_by_order(self, items, members, exact):
            """Pair the rest: a child that fits one submodule only goes there (shapes
            decide); the others go in order, the torch children in registration order to
            the Flax submodules of one kind (Dense_0, Dense_1, ... counted in call
            order). Order is evidence where the torch names carry it (Sequential
            indices, conv1/conv2) and the counts agree; otherwise the placement is
            reported as ambiguous."""
            import re

            def number(name):
                found = re.search(r"(\d+)$", str(name))
                return int(found.group(1)) if found else None

            def kind(path):
                return re.sub(r"_?\d+$", "", str(path[-1]))

            def natural(member):
                return (kind(member[0]), number(member[0][-1]) or 0, str(member[0][-1]))

            def fits(entry):
                return [m for m in members if self.compatible(entry, m, exact)]

            progress = True
            while (
                progress
            ):  # what shapes alone decide: a child that fits one place only
                progress = False
                only = {id(entry): fits(entry) for entry in items}
                for entry in list(items):
                    options = only[id(entry)]
                    rivals = [
                        e for e in items if e is not entry and only[id(e)] == options
                    ]
                    if len(options) == 1 and not rivals and options[0] in members:
                        self.pair(entry, options[0], items, members)
                        progress = True
            by_kind: dict = {}
            for entry in list(items):
                options = fits(entry)
                kinds = sorted({kind(m[0]) for m in options})
                if len(kinds) == 1:
                    by_kind.setdefault(kinds[0], []).append(entry)
                elif kinds:  # e.g. `bn1` fitting `depthwise_norm` and `pointwise_norm`
                    where = "/".join(map(str, options[0][0]))
                    self.report.ambiguous.append(
                        f"{'.'.join(entry[0].path)} -> {where}: it fits {len(options)}"
                        f" places named differently ({', '.join(kinds)}); neither names"
                        " nor order decide"
                    )
                    self.pair(entry, options[0], items, members)
            for kind_name, entries in by_kind.items():
                group = sorted(
                    (m for m in members if kind(m[0]) == kind_name), key=natural
                )
                self.pair_in_order(entries, group, items, members, exact)

        def pair_in_order(self, entries, group, items, members, exact):
            """Torch children in registration order take the Flax submodules of one kind
            in their natural order (Dense_2 < Dense_10). Two children are in doubt when
            they could swap places (each fits the other's) and their names do not carry
            their order."""
            fit = {
                (id(e), m[0]): self.compatible(e, m, exact)
                for e in entries
                for m in group
            }
            assignment, taken = [], set()
            for entry in entries:
                for member in group:
                    if member[0] not in taken and fit[(id(entry), member[0])]:
                        assignment.append((entry, member))
                        taken.add(member[0])
                        break
            doubts: dict = {}
            for i, (x, x_at) in enumerate(assignment):
                if len(entries) != len(group):  # which places does the order skip?
                    options = sum(fit[(id(x), m[0])] for m in group)
                    if options > 1:
                        doubts.setdefault(id(x), f"{options} places of that kind fit")
                for y, y_at in assignment[i + 1 :]:
                    swappable = fit[(id(x), y_at[0])] and fit[(id(y), x_at[0])]
                    if swappable and not self.order_known(x[2], y[2]):
                        doubts.setdefault(
                            id(x), f"it could swap with {'.'.join(y[0].path)}"
                        )
                        doubts.setdefault(
                            id(y), f"it could swap with {'.'.join(x[0].path)}"
                        )
            for entry, member in assignment:
                if id(entry) in doubts:
                    self.report.ambiguous.append(
                        f"{'.'.join(entry[0].path)} -> {'/'.join(map(str, member[0]))}:"
                        f" {doubts[id(entry)]}; neither names nor order decide"
                    )
                self.pair(entry, member, items, members)

        @staticmethod
        def order_known(a, b):
            """Does torch's registration order say that the child at path a runs before
            the one at b? Look at the first part of the two paths that differs:
            - numbered, increasing (`net.0` < `net.2`, `conv1` < `conv2`): yes;
            - a submodule beside a layer (`blocks` before a final `norm`): yes, stacks
              and stems are registered as they run; unless the name says it is a side
              path (`skip`, `shortcut`, `downsample`...), which is often registered
              before the main one;
            - two layers named otherwise (`skip` then `fc`, `dw` then `pw`): no."""
            import re

            def number(name):
                found = re.search(r"(\d+)$", name)
                return int(found.group(1)) if found else None

            def side_path(name):
                words = (
                    "skip",
                    "shortcut",
                    "downsample",
                    "residual",
                    "identity",
                    "proj",
                )
                return any(word in name.lower() for word in words)

            depth = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None
            )
            if depth is None:
                return False
            first, second = number(a[depth]), number(b[depth])
            if first is not None and second is not None:
                return first < second
            beside_a_submodule = len(a) > depth + 1 or len(b) > depth + 1
            return (
                beside_a_submodule
                and not side_path(a[depth])
                and not side_path(b[depth])
            )

        def pair(self, entry, member, items, members):
            items.remove(entry)
            members.remove(member)
            node = entry[0]
            path, sub = member
            self.match(node, path, sub)

        # ---------------------------------------------------------- the result
        def plan(self):
            """The plan: the target's structure and dtypes with an entry wherever a
            tensor was placed; the target's own arrays stay where nothing came (and
            count as missing)."""
            entries, order = [], []
            for path, slot in self.order:
                leaf = self.chosen.get(path[self.skip :])
                if leaf is not None:
                    entry = self.mapper.Entry(
                        path,
                        leaf,
                        slot.shape,
                        slot.dtype,
                        getattr(slot, "sharding", None),
                    )
                    entries.append(entry)
                    order.append((path, entry, None))
                    continue
                if hasattr(slot, "shape"):
                    self.report.missing_keys.append("/".join(map(str, path)))
                order.append((path, None, slot))
            return self.mapper.Plan(
                self.mapper, entries, self.report, self.layout, order
            )

    # ------------------------------------------------------------------ back to torch
    @classmethod
    def to_torch(
        cls,
        variables,
        like,
        *,
        target=None,
        layout="linen",
        strict=False,
        return_report=False,
    ):
        """The torch state dict of Flax variables (train in JAX, serve in torch): the
        mapping from_torch makes from `like` (a state dict, a checkpoint path or a
        KeyMapper.Plan), undone leaf by leaf, so a round trip gives `like` bit for bit.

        `variables` is what from_torch gave, trained or not: a linen dict, an NNX pure
        dict (layout="nnx"), an NNX model or State; jax, numpy or sharded arrays. Give
        `target` if from_torch had one whose names `variables` does not keep. Where
        from_torch's step has no inverse, a leaf that changed is rebuilt by a rule
        (listed in report.rebuilt): an RNN's summed bias b_ih + b_hh gives the change
        to b_ih and keeps like's b_hh; weight norm's weight w gives v = w and g = ||w||.
        Keys with no Flax place (counters, fixed buffers) come from `like`, tied keys
        from their partner. Returns {torch key: tensor} in like's order (a plan's: the
        tree's), torch tensors or, without torch, numpy arrays, which may share memory
        with `like`; strict and return_report as in from_torch."""
        import warnings

        variables, layout = cls._pure_target(variables, layout)
        if not hasattr(variables, "items"):
            raise TypeError(
                f"variables must be a tree of arrays, not {type(variables).__name__}"
            )
        if isinstance(like, cls.Plan):  # a plan holds the mapping, not every value
            plan, originals = like, {}
        else:
            originals = cls._load(like, cls.Report())
            plan = cls.plan(
                originals,
                target=variables if target is None else target,
                layout=layout,
            )
        report = cls.Report()
        report.mismatched += plan.report.mismatched
        report.ambiguous += plan.report.ambiguous
        report.tied += plan.report.tied
        report.buffers += plan.report.buffers
        pieces, used = cls._pieces(plan, variables, originals, report)
        state = cls._torch_state(plan, pieces, originals, report)
        ties = cls._ties(originals, set(originals)) if originals else {}
        for key, partner in ties.items():  # both placed in Flax, as untied ports do
            both = key in pieces and partner in pieces
            if both and not cls._same_bits(state[key], state[partner]):
                report.ambiguous.append(
                    f"{key} is {partner} in `like` (tied), but their Flax leaves now"
                    " differ: a tied torch model keeps only one of them"
                )
        leaves: list = []
        cls._walk(variables, (), lambda path, value: leaves.append((path, value)))
        report.unexpected_keys.extend(
            "/".join(map(str, path))
            for path, value in leaves
            if path not in used and hasattr(value, "shape")
        )
        guessed = any(how.startswith("guessed") for _, how in report.rebuilt)
        if strict and report:
            raise ValueError(f"the variables do not fit `like`:\n{report!r}")
        if report or guessed:
            warnings.warn(f"KeyMapper.to_torch:\n{report!r}", stacklevel=2)
        state = cls._as_torch(state)
        return (state, report) if return_report else state

    @classmethod
    def _pieces(cls, plan, variables, originals, report):
        """{torch key: [(rows, array in torch layout, dtype)]} from every plan entry's
        Flax leaf, and the paths of the leaves used."""
        import numpy as np

        pieces: dict = {}
        used = set()
        for entry in plan.entries:
            found = cls._leaf_at(variables, entry.path)
            where = "/".join(map(str, entry.path))
            if found is None:
                report.missing_keys.append(f"{entry.key} (nothing at {where})")
                continue
            spelled, value = found
            used.add(spelled)
            flax = np.asarray(value)  # a sharded array is gathered here, one at a time
            if tuple(flax.shape) != entry.shape:
                report.mismatched.append((entry.key, where, flax.shape, entry.shape))
                continue
            if not entry.key:  # the bias Flax gives an RNN layer that has none
                if np.any(flax):
                    report.unexpected_keys.append(f"{where} (torch has no bias there)")
                continue
            for key, rows, array, dtype in cls._unmap(entry, flax, originals, report):
                pieces.setdefault(key, []).append((rows, array, dtype))
        return pieces, used

    @classmethod
    def _unmap(cls, entry, flax, originals, report):
        """[(torch key, rows, array, dtype)] that give one Flax leaf back in torch's
        layout: the reshape and transpose undone. A leaf from_torch made from two
        tensors (an RNN's b_ih + b_hh, weight norm's g and v) or cast to a narrower
        dtype comes back as `like` has it while it is unchanged, else by a rule."""
        import numpy as np

        leaf = entry.leaf
        back = flax.reshape(leaf.shape)
        if leaf.perm is not None:
            back = back.transpose(np.argsort(leaf.perm))
        rows, part = leaf.rows, slice(*leaf.rows) if leaf.rows else slice(None)
        one_to_one = "+" not in entry.key and np.dtype(flax.dtype) == np.dtype(
            leaf.array.dtype
        )
        if one_to_one:
            return [(entry.key, rows, back, leaf.dtype)]
        unchanged = cls._same_bits(flax, leaf.value(entry.shape, entry.dtype))
        if " + " in entry.key:  # weight norm: g and v made one weight
            return cls._unmap_weight_norm(entry.key, back, unchanged, originals, report)
        if "+" not in entry.key:  # a cast from_torch made: only `like` has every bit
            kept = cls._Lazy.value_of(leaf.array)
            return [(entry.key, rows, kept if unchanged else back, leaf.dtype)]
        first, second = entry.key.split("+")  # an RNN's b_ih + b_hh
        if first not in originals or second not in originals:
            how = f"guessed: the plan holds only their sum, so {second} is zeros"
            if (first, how) not in report.rebuilt:
                report.rebuilt.append((first, how))
            return [
                (first, rows, back, leaf.dtype),
                (second, rows, np.zeros(back.shape, leaf.dtype), leaf.dtype),
            ]
        value_of = cls._Lazy.value_of  # like's tensors, read now if they are lazy
        b_ih, b_hh = value_of(originals[first])[part], value_of(originals[second])[part]
        if unchanged:
            return [(first, rows, b_ih, leaf.dtype), (second, rows, b_hh, leaf.dtype)]
        how = f"trained: the Flax bias - {second}, which is kept"
        if (first, how) not in report.rebuilt:  # (said once for all the gates)
            report.rebuilt.append((first, how))
        # the change since from_torch goes to b_ih, so b_ih + b_hh is the Flax bias
        change = np.asarray(back, np.float64) - np.asarray(
            value_of(leaf.array), np.float64
        )
        b_ih = np.asarray(b_ih, np.float64) + change
        return [(first, rows, b_ih, leaf.dtype), (second, rows, b_hh, leaf.dtype)]

    @staticmethod
    def _unmap_weight_norm(key, weight, unchanged, originals, report):
        """Weight norm's g and v for a weight w: `like`'s while w is unchanged, else
        v = w and g = ||w|| over the axes of from_torch's norm (g's size-1 axes)."""
        import numpy as np

        g_key, v_key = key.split(" + ")
        if g_key in originals and v_key in originals:
            value_of = KeyMapper._Lazy.value_of  # like's tensors, read now if lazy
            g, v = value_of(originals[g_key]), value_of(originals[v_key])
            if unchanged:
                return [(g_key, None, g, g.dtype), (v_key, None, v, v.dtype)]
            shape, dtype = g.shape, g.dtype
            report.rebuilt.append((g_key, "trained: g = ||w||, v = w"))
        else:
            shape, dtype = (weight.shape[0], *(1,) * (weight.ndim - 1)), weight.dtype
            how = (
                "guessed: g = ||w|| over all axes but 0 (torch's default dim=0), v = w"
            )
            report.rebuilt.append((g_key, how))
        if len(shape) == weight.ndim:
            axes = tuple(axis for axis in range(weight.ndim) if shape[axis] == 1)
        else:
            axes = tuple(range(weight.ndim))
        w = np.asarray(weight, np.float64)
        norm = np.sqrt(np.sum(w * w, axis=axes, keepdims=True)).reshape(shape)
        return [(g_key, None, norm, dtype), (v_key, None, weight, weight.dtype)]

    @classmethod
    def _torch_state(cls, plan, pieces, originals, report):
        """{torch key: numpy array} in `like`'s order: keys from their Flax pieces, tied
        keys as their partner, the rest from `like` (report.kept) or missing."""
        names = list(originals) or list(pieces)
        ties = dict(report.tied)
        if not originals:  # a plan alone: also the keys it placed nowhere
            placed_nowhere = [
                key.split(" (")[0]
                for key in (
                    *plan.report.dropped,
                    *plan.report.buffers,
                    *plan.report.unexpected_keys,
                )
                if "(beside" not in key  # a training checkpoint's other entries
            ]
            names += [key for key in (*ties, *placed_nowhere) if key not in names]
        state: dict = {}
        for key in names:
            if key in pieces:
                state[key] = cls._assemble(key, pieces[key], originals.get(key), report)
            elif ties.get(key) in state:
                state[key] = state[ties[key]]
            elif key in originals:
                state[key] = cls._Lazy.value_of(originals[key])
                report.kept.append(key)
            else:
                report.missing_keys.append(f"{key} (no value: a plan holds none)")
        return state

    @staticmethod
    def _assemble(key, pieces, original, report):
        """One torch tensor from its pieces (rows of the first axis, or the whole), in
        `like`'s dtype. Rows no piece covers come from `like`, else are missing."""
        import numpy as np

        dtype = pieces[0][2] if original is None else original.dtype
        if len(pieces) == 1 and pieces[0][0] is None:
            return np.asarray(pieces[0][1]).astype(dtype, copy=False)
        if original is not None:
            shape = original.shape
        else:
            stop = max(rows[1] if rows else len(a) for rows, a, _ in pieces)
            shape = (stop, *pieces[0][1].shape[1:])
        out = np.zeros(shape, dtype)
        covered = np.zeros(shape[0], bool)
        for rows, array, _ in pieces:
            part = slice(*rows) if rows else slice(None)
            out[part] = np.asarray(array).astype(dtype, copy=False)
            covered[part] = True
        if not covered.all():
            gaps = f"{key} rows {np.flatnonzero(~covered).tolist()}"
            if original is None:
                report.missing_keys.append(f"{gaps} (no Flax leaf)")
            else:
                out[~covered] = original[~covered]
                report.kept.append(gaps)
        return out

    @staticmethod
    def _leaf_at(tree, path):
        """(path as the tree spells it, array) or None. orbax restores an NNX tree's
        integer keys as strings."""
        node, spelled = tree, []
        for name in path:
            if not hasattr(node, "items"):
                return None
            spelling = next((s for s in (name, str(name)) if s in node), None)
            if spelling is None:
                return None
            node = node[spelling]
            spelled.append(spelling)
        return (tuple(spelled), node) if hasattr(node, "shape") else None

    @staticmethod
    def _same_bits(a, b):
        """Equal bit for bit (NaNs and -0.0 included), shapes and dtypes too."""
        import numpy as np

        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.itemsize not in (1, 2, 4, 8):
            return bool(np.array_equal(a, b))
        bits = np.dtype(f"u{a.dtype.itemsize}")
        return bool(np.array_equal(a.view(bits), b.view(bits)))

    @classmethod
    def _as_torch(cls, state):
        """Contiguous torch tensors of the same dtypes, or numpy arrays without torch.
        Keys that share an array (tied) share one tensor, as in torch's state dicts."""
        import numpy as np

        made: dict = {}
        out = {}
        for key, array in state.items():
            if id(array) not in made:
                x = np.asarray(array)
                # a transposed view, a memory map, jax's read-only buffer: torch's copy
                if not (x.flags.c_contiguous and x.flags.writeable):
                    x = x.copy(order="C")
                made[id(array)] = cls._tensor(x)
            out[key] = made[id(array)]
        return out

    @staticmethod
    def _tensor(array):
        """A torch tensor on the array's memory (bf16 and FP8 through their bits, as
        _array reads them); the array itself without torch."""
        try:
            import torch
        except ImportError:
            return array
        import ml_dtypes
        import numpy as np

        bits_and_dtype = {
            np.dtype(ml_dtypes.bfloat16): (np.int16, torch.bfloat16),
            np.dtype(ml_dtypes.float8_e4m3fn): (np.uint8, torch.float8_e4m3fn),
            np.dtype(ml_dtypes.float8_e5m2): (np.uint8, torch.float8_e5m2),
        }.get(array.dtype)
        if bits_and_dtype is None:
            return torch.from_numpy(array)
        bits, dtype = bits_and_dtype
        return torch.from_numpy(array.view(bits)).view(dtype)
