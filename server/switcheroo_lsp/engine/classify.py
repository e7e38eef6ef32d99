"""What a ``load_state_dict`` receiver holds, and how sure that judgement is.

Optimizers, schedulers, scalers, data loaders, EMA helpers, trainer loops, progress counters,
hooks, tasks and logging hubs have ``load_state_dict`` too but hold no model weights. The
judgement reads the code as a person would, strongest evidence first:

1. what the call is: a bare function or an imported module's function (``amp``, ``dist_cp``);
2. an ``isinstance(x, ...)`` guard around the call (its true branch says what ``x`` is; the
   ``else`` branch of ``isinstance(x, nn.Module)`` says it is not a model);
3. the receiver's own words (``optimizer_g``, ``train_loader``, ``text_encoder``): in a compound
   name the last meaningful word is the head noun (``data_parallel_model`` is a model);
4. what the receiver is bound to in scope: an assignment (``task = tasks.setup_task(cfg)``,
   ``self.ema = deepcopy(model)``), a dataclass field, a parameter annotation, the collection a
   loop variable walks (``for h in self._hooks``), ``self`` in a class (``nn.Module`` subclass);
5. the state argument's keys (``ckpt["optimizer"]``, ``state["task_state"]``,
   ``ckpt["model"]``), never the word "checkpoint" in it, which says where the state came from
   and nothing about what it holds.

A model judgement is SURE only with positive evidence; when nothing tells, the receiver is taken
for a model (so no model call is missed) but UNSURE, and bulk fixes leave it alone.

EMA: a copy of the model (``self.ema = deepcopy(model)``, yolov5's ``ema.ema``, timm's
``model_ema.module``) holds real weights and is a model; an EMA helper with a state format of its
own (``ExponentialMovingAverage(model.parameters())``, diffusers' ``EMAModel``) is not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from switcheroo_lsp.engine.model import Confidence, ReceiverKind
from switcheroo_lsp.engine.syntax import FUNCTIONS, SCOPES, dotted, root_name, statement_nodes

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

_WORDS: dict[str, ReceiverKind] = {}


def _register(kind: ReceiverKind, words: str) -> None:
    for word in words.split():
        _WORDS[word] = kind


_register(
    ReceiverKind.OPTIMIZER,
    "opt opts optim optims optimizer optimizers optimiser optimisers sgd adam adamw adagrad "
    "adadelta rmsprop lbfgs adamax nadam radam sparseadam lion lamb adafactor asgd rprop "
    "zeroredundancyoptimizer",
)
_register(
    ReceiverKind.SCHEDULER,
    "sched scheds scheduler schedulers schedule schedules lr plateau warmup",
)
_register(ReceiverKind.SCALER, "scaler scalers gradscaler")
_register(
    ReceiverKind.DATA,
    "loader loaders dataloader dataloaders sampler samplers dataset datasets datamodule dl "
    "iterator iterators",
)
_register(
    ReceiverKind.TRAINER,
    "trainer trainers callback callbacks cb cbs accelerator accelerators loop loops strategy "
    "checkpointer checkpoint logger loggers meter meters metric metrics tracker trackers "
    "evaluator stopper stopping profiler monitor runner fabric progress counter counters "
    "hook hooks hub engine visualizer recorder algorithm algorithms",
)
_register(
    ReceiverKind.MODEL,
    "model models net nets network networks module modules encoder encoders decoder decoders "
    "backbone backbones unet vae transformer transformers generator discriminator classifier "
    "head heads policy critic actor teacher student controlnet layer layers block blocks "
    "embedder tower adapter adapters lora bert gpt resnet vit autoencoder detector segmenter "
    "vocoder projection projector proj embedding embeddings embed conv linear mlp attention "
    "attn norm lm parallel ddp fsdp clip vq codec qnet dqn denoiser predictor regressor "
    "extractor neck gru lstm rnn enc dec",
)
# Not receivers' kinds: an apex `amp` module, wherever it was imported from.
_register(ReceiverKind.MODULE_FUNCTION, "amp")

_EMA_WORDS = frozenset({"ema", "emas"})
# `ema.ema` (yolov5), `ema.shadow`, `model_ema.module` (timm): the copy an EMA wrapper holds.
_EMA_COPY_ATTRIBUTES = frozenset({"ema", "shadow", "module", "model", "averaged_model"})
# Words a state argument uses to say where it came from, not what it holds.
_SOURCE_WORDS = frozenset({"checkpoint", "checkpoints", "ckpt", "ckpts", "checkpointer"})
# Functions whose result is a file's tensors: a state loaded with them is weights.
_WEIGHT_LOADERS = frozenset(
    {"load_file", "load_state_dict_from_url", "load_url", "safe_load_file", "load_safetensors"}
)
_WEIGHT_FILE = re.compile(r"\.(pth|pt|bin|safetensors|ckpt)\b|weights?|model", re.IGNORECASE)
# Factory functions that build or load models.
_MODEL_FACTORIES = frozenset(
    {
        "create_model",
        "build_model",
        "get_model",
        "load_model",
        "from_pretrained",
        "from_config",
        "from_single_file",
        "init_model",
        "make_model",
    }
)
_COPY_FUNCTIONS = frozenset({"deepcopy", "copy"})
# fairseq-style tasks (`tasks.setup_task(cfg)`, `state["task_state"]`): helpers with a state of
# their own. "task" alone says nothing: many models are named `task`, `multi_task`, `smtask`.
_TASK_FACTORIES = frozenset({"setup_task", "build_task", "get_task"})
_TASK_STATES = frozenset({"task_state", "task_states"})
_MAX_DEPTH = 4  # bindings followed through (x = y; y = deepcopy(model); ...)
_MAX_LOOKUPS = 200  # binding lookups per call judged: pathological code stays fast

# Names bound by `from X import name` that are modules with a load_state_dict function.
MODULE_NAMES = frozenset({"amp", "dist_cp", "dcp", "dist_checkpoint", "checkpoint"})
# Packages whose imported names are modules or functions, never a user's model instance.
LIBRARY_ROOTS = frozenset(
    {
        "torch",
        "apex",
        "deepspeed",
        "accelerate",
        "safetensors",
        "transformers",
        "diffusers",
        "fairseq",
        "mmengine",
        "lightning",
        "pytorch_lightning",
    }
)

# (what it is, why it needs no checkpoint migration), per non-model kind
REASONS: dict[ReceiverKind, tuple[str, str]] = {
    ReceiverKind.OPTIMIZER: ("an optimizer", "its state (moments, step counts) holds no weights"),
    ReceiverKind.SCHEDULER: ("a learning-rate scheduler", "its state holds no weights"),
    ReceiverKind.SCALER: ("a gradient scaler", "its state holds no weights"),
    ReceiverKind.DATA: ("a data loader or sampler", "its state holds no weights"),
    ReceiverKind.EMA: ("an EMA helper", "it keeps its weights in a format of its own"),
    ReceiverKind.TRAINER: (
        "a trainer, loop, callback, hook, task or similar helper",
        "its state holds no model weights",
    ),
    ReceiverKind.MODULE_FUNCTION: ("a library function", "not a model's method"),
    ReceiverKind.OTHER: ("not an nn.Module", "its state is not a model's weights"),
}


def _noun(kind: ReceiverKind) -> str:
    return "a model" if kind is ReceiverKind.MODEL else REASONS[kind][0]


def words(name: str) -> list[str]:
    """Lower-case words of an identifier: ``optimizerG`` -> optimizer, g; ``EMAModel`` -> ema, model."""
    return [w.lower() for w in _WORD.findall(name)]


def _is_ema(ws: Sequence[str]) -> bool:
    return bool(_EMA_WORDS.intersection(ws)) or ("moving" in ws and "average" in ws)


def kind_of_words(names: Iterable[str]) -> ReceiverKind | None:
    """The kind that a sequence of names (outermost first) points at, or None if none speaks.

    EMA in a name wins over the words after it (``EMAModel`` is a helper), except for the copy an
    EMA wrapper holds (``ema.ema``, ``model_ema.module``), which is a model."""
    found: ReceiverKind | None = None
    after_ema = False
    for name in names:
        ws = words(name)
        if after_ema and name in _EMA_COPY_ATTRIBUTES:
            found, after_ema = ReceiverKind.MODEL, False
            continue
        if _is_ema(ws):
            found, after_ema = ReceiverKind.EMA, True
            continue
        for word in ws:
            kind = _WORDS.get(word)
            if kind is not None:
                found = kind
                after_ema = False
    return found


@dataclass(frozen=True)
class Judgement:
    """What a receiver is, how sure that is, on what evidence, and (non-models) why no fix."""

    kind: ReceiverKind
    confidence: Confidence
    evidence: str = ""  # e.g. "`self.ema` is assigned `deepcopy(model)`"
    reason: str | None = None  # non-models: why no checkpoint migration applies


@dataclass(frozen=True)
class _Clue:
    """One piece of evidence: the kind it points at and the words that say so."""

    kind: ReceiverKind
    evidence: str
    by_name: bool = False  # the receiver's own name says it (the reason need not repeat it)


class ScopeFacts:
    """Names bound in one scope: assignments (target text -> values) and imports."""

    def __init__(self, body: list[ast.stmt]) -> None:
        self.assigned: dict[str, list[tuple[int, ast.AST]]] = {}
        self.imported: dict[str, tuple[str, bool]] = {}  # name -> (module path, plain import)
        for node in statement_nodes(body):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind(target, node.value, node.lineno)
            elif isinstance(node, ast.AnnAssign):
                self._bind(node.target, node.value or node.annotation, node.lineno)
                if node.value is not None:  # a dataclass field: the annotation says the type
                    self._bind(node.target, node.annotation, node.lineno)
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, item.context_expr, node.lineno)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.imported[bound] = (alias.name if alias.asname else bound, True)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    module = f"{'.' * node.level}{node.module or ''}.{alias.name}"
                    self.imported[alias.asname or alias.name] = (module, False)

    def _bind(self, target: ast.AST, value: ast.AST, line: int) -> None:
        if isinstance(target, ast.Name | ast.Attribute):
            key = ast.unparse(target) if isinstance(target, ast.Attribute) else target.id
            self.assigned.setdefault(key, []).append((line, value))
        elif (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(value, ast.Tuple | ast.List)
            and len(value.elts) == len(target.elts)
        ):
            for sub_target, sub_value in zip(target.elts, value.elts, strict=True):
                self._bind(sub_target, sub_value, line)

    def values_of(self, name: str, line: int) -> list[ast.AST]:
        """Values assigned to ``name``: the ones before ``line`` last first, then the later ones."""
        values = self.assigned.get(name, [])
        before = [v for ln, v in values if ln <= line]
        after = [v for ln, v in values if ln > line]
        return [*reversed(before), *after]


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


class Classifier:
    """Judges receivers in one parsed text; scope facts and classes are computed once."""

    def __init__(self, tree: ast.Module, segment: Callable[[ast.AST], str]) -> None:
        self.tree = tree
        self.segment = segment
        self._scopes: dict[int, ScopeFacts] = {}
        self._classes: dict[str, ast.ClassDef] | None = None
        self._lookups_left = _MAX_LOOKUPS

    def scope_facts(self, scope: ast.AST) -> ScopeFacts:
        """The bindings of one scope (a module, class, def or lambda)."""
        facts = self._scopes.get(id(scope))
        if facts is None:
            body = [] if isinstance(scope, ast.Lambda) else scope.body  # type: ignore[attr-defined]
            facts = ScopeFacts(body)
            self._scopes[id(scope)] = facts
        return facts

    @property
    def classes(self) -> dict[str, ast.ClassDef]:
        """Classes defined anywhere in the text, by name."""
        if self._classes is None:
            self._classes = {}
            stack: list[ast.AST] = list(self.tree.body)  # statements only: no expression walk
            while stack:
                node = stack.pop()
                if isinstance(node, ast.ClassDef):
                    self._classes.setdefault(node.name, node)
                for name in ("body", "orelse", "finalbody"):
                    block = getattr(node, name, None)
                    if isinstance(block, list):
                        stack.extend(block)
                for handler in getattr(node, "handlers", ()):
                    stack.extend(handler.body)
                for case in getattr(node, "cases", ()):
                    stack.extend(case.body)
        return self._classes

    # -- the judgement ----------------------------------------------------------------------

    def judge(self, call: ast.Call, path: tuple[ast.AST, ...], state: ast.AST | None) -> Judgement:
        """The receiver's kind, how sure, and for non-models why no migration applies."""
        func = call.func
        if isinstance(func, ast.Name):
            return Judgement(
                ReceiverKind.MODULE_FUNCTION,
                Confidence.SURE,
                "a bare function call",
                "`load_state_dict(...)` called as a bare function is a library helper "
                "(it returns a dict), not a model's method",
            )
        receiver = func.value  # type: ignore[attr-defined]
        self._lookups_left = _MAX_LOOKUPS
        if dotted(receiver)[-1:] == ["Module"]:  # nn.Module.load_state_dict(model, sd)
            return Judgement(ReceiverKind.MODEL, Confidence.SURE, "called through nn.Module")
        scopes = [node for node in path[:-1] if isinstance(node, SCOPES)]
        module = self._imported_module(receiver, scopes)
        if module is not None:
            return Judgement(
                ReceiverKind.MODULE_FUNCTION,
                Confidence.SURE,
                f"`{self.segment(receiver)}` is the imported module `{module}`",
                f"`{self.segment(receiver)}` is the imported module `{module}`: "
                "its load_state_dict is a library function, not a model's method",
            )
        clue = (
            self._guard(receiver, path)
            or self._receiver_clue(receiver, path, scopes, call.lineno, _MAX_DEPTH)
            or self._state_clue(state, path, scopes, call.lineno)
        )
        if clue is None:
            return Judgement(ReceiverKind.MODEL, Confidence.UNSURE)
        if clue.kind is ReceiverKind.MODEL:
            return Judgement(ReceiverKind.MODEL, Confidence.SURE, clue.evidence)
        noun, why = REASONS[clue.kind]
        detail = "" if clue.by_name else f" ({clue.evidence})"
        reason = f"`{self.segment(receiver)}` is {noun}{detail}; {why}"
        return Judgement(clue.kind, Confidence.SURE, clue.evidence, reason)

    def _imported_module(self, receiver: ast.AST, scopes: Sequence[ast.AST]) -> str | None:
        """The module a receiver's root names: `dist_cp`, `from apex import amp` (also when a
        fallback `amp = None` follows the import), or None."""
        root = root_name(receiver)
        if root is None or root == "self":
            return None
        for scope in reversed(scopes):
            facts = self.scope_facts(scope)
            if root in facts.imported and not any(
                not (isinstance(value, ast.Constant) and value.value is None)
                for _, value in facts.assigned.get(root, [])
            ):  # imported, and at most set to None as a fallback
                module, plain = facts.imported[root]
                top = module.lstrip(".").split(".")[0]
                if plain or root in MODULE_NAMES or top in LIBRARY_ROOTS:
                    return module
                return None
            if root in facts.assigned:
                return None
        return None

    def _guard(self, receiver: ast.AST, path: tuple[ast.AST, ...]) -> _Clue | None:
        """An `if isinstance(receiver, X)` around the call (also one operand of an `and` in the
        true branch): its branch says what the receiver is."""
        target = ast.unparse(receiver)
        for parent, child in zip(reversed(path[:-1]), reversed(path[1:]), strict=False):
            if not isinstance(parent, ast.If | ast.IfExp):
                continue
            in_body = (
                child in parent.body if isinstance(parent.body, list) else child is parent.body
            )
            in_orelse = (
                child in parent.orelse
                if isinstance(parent.orelse, list)
                else child is parent.orelse
            )
            if not (in_body or in_orelse):
                continue  # the call is in the test itself
            tests = [parent.test]
            if (
                in_body
                and isinstance(parent.test, ast.BoolOp)
                and isinstance(parent.test.op, ast.And)
            ):
                tests = list(parent.test.values)
            for test in tests:
                clue = self._isinstance_clue(target, test, holds=in_body)
                if clue is not None:
                    return clue
        return None

    def _isinstance_clue(self, target: str, test: ast.expr, *, holds: bool) -> _Clue | None:
        """What `isinstance(target, X)` being true (``holds``) or false says about ``target``."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, holds = test.operand, not holds
        if not (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance"
            and len(test.args) == 2
            and ast.unparse(test.args[0]) == target
        ):
            return None
        types = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
        guard = _short(test)
        if holds:  # the receiver is one of the types
            kinds = {self._type_kind(t) for t in types}
            kind = kinds.pop() if len(kinds) == 1 else None
            return _Clue(kind, f"`{target}` passed `{guard}`") if kind is not None else None
        if all(dotted(t)[-1:] == ["Module"] for t in types):  # not an nn.Module at all
            return _Clue(ReceiverKind.OTHER, f"`{target}` failed `{guard}`")
        return None

    def _type_kind(self, node: ast.AST) -> ReceiverKind | None:
        """The kind a class expression names: `nn.Module` -> model, `_Loop` -> trainer."""
        names = dotted(node)
        if names and names[-1] in self.classes:
            return self._class_kind(self.classes[names[-1]], _MAX_DEPTH)
        return kind_of_words(names)

    def _class_kind(self, node: ast.ClassDef, depth: int) -> ReceiverKind | None:
        """A class defined in the text: its name's words, else its bases' (followed in the text)."""
        kind = kind_of_words([node.name])
        if kind is not None or depth == 0:
            return kind
        for base in node.bases:
            names = dotted(base)
            if names and names[-1] in self.classes and names[-1] != node.name:
                kind = self._class_kind(self.classes[names[-1]], depth - 1)
            else:
                kind = kind_of_words(names)
            if kind is not None:
                return kind
        return None

    def _receiver_clue(
        self,
        receiver: ast.AST,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
        depth: int,
    ) -> _Clue | None:
        """What the receiver's words, then its bindings, say it is."""
        names = dotted(receiver)
        text = ast.unparse(receiver)
        kind = kind_of_words(names)
        if kind is not None and kind is not ReceiverKind.EMA:
            return _Clue(kind, f"`{text}` is named like {_noun(kind)}", by_name=True)
        bound = self._binding_clue(receiver, path, scopes, line, depth)
        if bound is not None:
            return bound
        if kind is ReceiverKind.EMA:
            return _Clue(kind, f"`{text}` is named like an EMA helper", by_name=True)
        if isinstance(receiver, ast.Name | ast.Call) and names and names[-1] in ("self", "super"):
            for node in reversed(path):
                if isinstance(node, ast.ClassDef):
                    kind = self._class_kind(node, _MAX_DEPTH)
                    if kind is not None:
                        return _Clue(kind, f"`self` is a `{node.name}`")
                    break
        return None

    def _binding_clue(
        self,
        receiver: ast.AST,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
        depth: int,
    ) -> _Clue | None:
        """What the value bound to the receiver (assignment, field, annotation, loop) says;
        for `x.attr` with nothing bound, an attribute of a model is a submodule."""
        clue = self._bound_clue(receiver, path, scopes, line, depth)
        if clue is not None or not isinstance(receiver, ast.Attribute) or depth <= 1:
            return clue
        owner = receiver.value
        kind = kind_of_words(dotted(owner))
        owner_clue = (
            _Clue(kind, f"`{ast.unparse(owner)}` is named like a model")
            if kind is not None
            else self._binding_clue(owner, path, scopes, line, depth - 1)
        )
        if owner_clue is not None and owner_clue.kind is ReceiverKind.MODEL:
            evidence = (
                f"`{ast.unparse(receiver)}` is an attribute of a model ({owner_clue.evidence})"
            )
            return _Clue(ReceiverKind.MODEL, evidence)
        return None

    def _bound_clue(
        self,
        receiver: ast.AST,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
        depth: int,
    ) -> _Clue | None:
        root = root_name(receiver)
        if root is None or depth == 0 or self._lookups_left <= 0:
            return None
        self._lookups_left -= 1
        if isinstance(receiver, ast.Attribute) and root == "self":
            key = ast.unparse(receiver)
            classes = [n for n in path if isinstance(n, ast.ClassDef)]
            if not classes:
                return None
            cls = classes[-1]
            field = key.removeprefix("self.")
            if "." not in field:  # a dataclass field or class attribute
                for value in self.scope_facts(cls).values_of(field, line):
                    clue = self._value_clue(key, value, path, scopes, line, depth)
                    if clue is not None:
                        return clue
            for method in cls.body:
                if isinstance(method, FUNCTIONS):
                    for value in self.scope_facts(method).values_of(key, line):
                        clue = self._value_clue(key, value, path, scopes, line, depth)
                        if clue is not None:
                            return clue
            return None
        if not isinstance(receiver, ast.Name | ast.Attribute):
            return None
        key = ast.unparse(receiver)
        for scope in reversed(scopes):
            values = self.scope_facts(scope).values_of(key, line)
            if values:
                for value in values:
                    clue = self._value_clue(key, value, path, scopes, line, depth)
                    if clue is not None:
                        return clue
                break
            if isinstance(scope, FUNCTIONS):
                args = scope.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                    if arg.arg == key and arg.annotation is not None:
                        kind = self._annotation_kind(arg.annotation)
                        if kind is not None:
                            return _Clue(kind, f"`{key}` is annotated `{_short(arg.annotation)}`")
        # a loop variable: for opt in optimizers / for o, s in zip(self.optimizers, states)
        for node in reversed(path):
            if isinstance(node, ast.For | ast.AsyncFor):
                loops: list[ast.For | ast.AsyncFor | ast.comprehension] = [node]
            elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
                loops = list(node.generators)
            else:
                continue
            for loop in loops:
                source = _loop_source(loop.target, loop.iter, key)
                if source is not None:
                    kind = kind_of_words(dotted(source)) or self._receiver_clue_kind(
                        source, path, scopes, line, depth - 1
                    )
                    if kind is not None:
                        return _Clue(kind, f"`{key}` iterates over `{_short(source)}`")
        return None

    def _annotation_kind(self, node: ast.AST) -> ReceiverKind | None:
        """`Optional[Optimizer]`, `nn.Module | None`, `"Trainer"`, a class of the text."""
        if isinstance(node, ast.Subscript):
            return self._annotation_kind(node.value) or self._annotation_kind(node.slice)
        if isinstance(node, ast.BinOp):
            return self._annotation_kind(node.left) or self._annotation_kind(node.right)
        if isinstance(node, ast.Tuple):
            for element in node.elts:
                kind = self._annotation_kind(element)
                if kind is not None:
                    return kind
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return kind_of_words(re.findall(r"\w+", node.value))
        return self._type_kind(node)

    def _value_clue(
        self,
        key: str,
        value: ast.AST,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
        depth: int,
    ) -> _Clue | None:
        kind = self._value_kind(value, path, scopes, line, depth)
        if kind is None:
            return None
        return _Clue(kind, f"`{key}` is bound to `{_short(value)}`")

    def _value_kind(
        self,
        value: ast.AST,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
        depth: int,
    ) -> ReceiverKind | None:
        """The kind an assigned value points at: `torch.optim.AdamW(...)` -> optimizer,
        `deepcopy(model)` -> model, `MyNet(...)` with `class MyNet(nn.Module)` -> model."""
        if isinstance(value, ast.IfExp):
            return self._value_kind(value.body, path, scopes, line, depth) or self._value_kind(
                value.orelse, path, scopes, line, depth
            )
        if isinstance(value, ast.Call):
            names = dotted(value.func)
            if not names:
                return None
            last = names[-1]
            if last in _COPY_FUNCTIONS and value.args:  # deepcopy(model): a copy is the same kind
                copied = value.args[0]
                return kind_of_words(dotted(copied)) or (
                    self._receiver_clue_kind(copied, path, scopes, line, depth - 1)
                )
            if last in self.classes:
                return self._class_kind(self.classes[last], _MAX_DEPTH)
            if last in _TASK_FACTORIES:
                return ReceiverKind.TRAINER
            func_kind = kind_of_words(names)
            if func_kind is not None:
                return func_kind
            if last in _MODEL_FACTORIES or names[:2] == ["torch", "nn"] or names[0] == "nn":
                return ReceiverKind.MODEL
            wrapped = value.args[0] if value.args else None
            if isinstance(wrapped, ast.Name | ast.Attribute):
                # a wrapper keeps what it wraps: torch.compile(model), DDP(net), prepare(model)
                wrapped_kind = kind_of_words(dotted(wrapped)) or self._receiver_clue_kind(
                    wrapped, path, scopes, line, depth - 1
                )
                if wrapped_kind is ReceiverKind.MODEL:
                    return wrapped_kind
            if isinstance(value.func, ast.Attribute) and isinstance(value.func.value, ast.Call):
                # `Net().to(device)`, `build(cfg).cuda()`: the inner call decides
                return self._value_kind(value.func.value, path, scopes, line, depth)
            if isinstance(value.func, ast.Attribute) and not value.args:
                # `model.eval()`, `model.cuda()` ... return the module
                inner = value.func.value
                return kind_of_words(dotted(inner)) or self._receiver_clue_kind(
                    inner, path, scopes, line, depth - 1
                )
            return None
        if isinstance(value, ast.Constant) and value.value is None:
            return None
        if isinstance(value, ast.Name | ast.Attribute | ast.Subscript):
            kind = self._annotation_kind(value) if isinstance(value, ast.Subscript) else None
            return (
                kind
                or kind_of_words(dotted(value))
                or self._receiver_clue_kind(value, path, scopes, line, depth - 1)
            )
        return None

    def _receiver_clue_kind(
        self,
        node: ast.AST,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
        depth: int,
    ) -> ReceiverKind | None:
        if depth <= 0 or not isinstance(node, ast.Name | ast.Attribute):
            return None
        clue = self._binding_clue(node, path, scopes, line, depth)
        return clue.kind if clue is not None else None

    def _state_clue(
        self,
        state: ast.AST | None,
        path: tuple[ast.AST, ...],
        scopes: Sequence[ast.AST],
        line: int,
    ) -> _Clue | None:
        """What the state argument says it holds: `ckpt["optimizer"]` -> optimizer,
        `ckpt["model"]` or `ckpt["state_dict"]` -> model, `other_model.state_dict()` -> model.
        "checkpoint" in it says where it came from, not what it holds: it is ignored."""
        if state is None:
            return None
        text = self.segment(state)
        names: list[str] = []  # keys and names, outermost first
        current = state
        while True:
            if isinstance(current, ast.Subscript):
                if isinstance(current.slice, ast.Constant) and isinstance(current.slice.value, str):
                    names.insert(0, current.slice.value)
                current = current.value
            elif isinstance(current, ast.Call):
                func = current.func
                if not isinstance(func, ast.Attribute):
                    return self._loaded_clue(current, text, scopes, line)
                if (
                    func.attr in ("get", "pop")
                    and current.args
                    and isinstance(current.args[0], ast.Constant)
                    and isinstance(current.args[0].value, str)
                ):
                    names.insert(0, current.args[0].value)
                    current = func.value
                elif func.attr == "state_dict" and not current.args and not names:
                    source = func.value  # `dst.load_state_dict(src.state_dict())`
                    kind = kind_of_words(dotted(source)) or self._receiver_clue_kind(
                        source, path, scopes, line, _MAX_DEPTH
                    )
                    if kind is None:
                        return None
                    return _Clue(kind, f"the state is that of `{_short(source)}`, {_noun(kind)}")
                else:
                    return self._loaded_clue(current, text, scopes, line)
            elif isinstance(current, ast.Attribute):
                names.insert(0, current.attr)
                current = current.value
            elif isinstance(current, ast.Name):
                names.insert(0, current.id)
                break
            else:
                break
        if _TASK_STATES.intersection(names):
            return _Clue(ReceiverKind.TRAINER, f"the state `{text}` is a task's state")
        kind = _content_kind(names)
        if kind is not None:
            return _Clue(kind, f"the state `{text}` is named like {_noun(kind)}'s")
        last = names[-1] if names else ""
        if (last == "state_dict" and len(names) > 1) or last.endswith(("_state_dict", "_weights")):
            return _Clue(ReceiverKind.MODEL, f"the state `{text}` is a model's state_dict")
        if isinstance(state, ast.Name):  # `sd = torch.load("weights.pth")` then `m.load(sd)`
            for scope in reversed(scopes):
                values = self.scope_facts(scope).values_of(state.id, line)
                if values:
                    value = values[0]
                    if isinstance(value, ast.Call):
                        return self._loaded_clue(value, text, scopes, line)
                    return None
        return None

    def _loaded_clue(
        self, call: ast.Call, text: str, scopes: Sequence[ast.AST], line: int
    ) -> _Clue | None:
        """A state read straight from a file: safetensors and URL loaders hold only tensors;
        `torch.load` of a path that says weights (`.pth`, `model`, `weights`), also through a
        name bound to such a path or a parameter defaulting to one."""
        names = dotted(call.func)
        last = names[-1] if names else ""
        if last in _WEIGHT_LOADERS:
            return _Clue(ReceiverKind.MODEL, f"the state is a weights file: `{_short(call)}`")
        if last == "load" and call.args:
            where = ast.unparse(self._path_value(call.args[0], scopes, line))
            kind = _content_kind(re.findall(r"[A-Za-z0-9]+", where))
            if kind is not None and kind is not ReceiverKind.MODEL:
                return _Clue(kind, f"the state is loaded from `{_short(call.args[0])}`")
            if kind is ReceiverKind.MODEL or _WEIGHT_FILE.search(where):
                return _Clue(ReceiverKind.MODEL, f"the state is a weights file: `{_short(call)}`")
        return None

    def _path_value(self, node: ast.AST, scopes: Sequence[ast.AST], line: int) -> ast.AST:
        """A path argument, or the string it names: `torch.load(path)` with
        `def f(path="w.pth")` or `PATH = "w.pth"` in scope -> the string."""
        if not isinstance(node, ast.Name):
            return node
        for scope in reversed(scopes):
            values = self.scope_facts(scope).values_of(node.id, line)
            if values:
                value = values[0]
                return value if isinstance(value, ast.Constant | ast.JoinedStr) else node
            if isinstance(scope, FUNCTIONS):
                args = scope.args
                positional = [*args.posonlyargs, *args.args]
                names = [a.arg for a in [*positional, *args.kwonlyargs]]
                if args.vararg is not None:
                    names.append(args.vararg.arg)
                if args.kwarg is not None:
                    names.append(args.kwarg.arg)
                if node.id not in names:
                    continue  # a global or an enclosing function's name
                defaults: dict[ast.arg, ast.expr | None] = dict(
                    zip(positional[::-1], args.defaults[::-1], strict=False)
                )
                defaults.update(zip(args.kwonlyargs, args.kw_defaults, strict=True))
                default = next((d for a, d in defaults.items() if a.arg == node.id), None)
                if default is None:
                    return node
                outer = list(scopes[: list(scopes).index(scope)])
                return self._path_value(default, outer, line)
        return node


def _content_kind(names: Iterable[str]) -> ReceiverKind | None:
    """The kind the words of a state's names and keys say it holds, ignoring words that only say
    where it came from (`converted_vocoder_checkpoint` -> vocoder -> model)."""
    kept = [w for name in names for w in words(name) if w not in _SOURCE_WORDS]
    return kind_of_words(kept)


def _loop_source(target: ast.AST, iterable: ast.AST, name: str) -> ast.AST | None:
    """The collection a loop variable ``name`` walks: `for k, v in hooks.items()` -> hooks."""
    if isinstance(target, ast.Name):
        if target.id != name:
            return None
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr in ("values", "items")
        ):
            return iterable.func.value
        return iterable
    if isinstance(target, ast.Tuple) and isinstance(iterable, ast.Call):
        func = iterable.func
        func_name = func.id if isinstance(func, ast.Name) else ""
        for position, element in enumerate(target.elts):
            if func_name == "zip" and position < len(iterable.args):
                found = _loop_source(element, iterable.args[position], name)
            elif func_name == "enumerate" and position == 1 and iterable.args:
                found = _loop_source(element, iterable.args[0], name)
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "items"
                and position == 1
                and isinstance(element, ast.Name)
                and element.id == name
            ):
                found = func.value
            else:
                found = None
            if found is not None:
                return found
    return None
