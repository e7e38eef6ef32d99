"""Where the KeyMapper goes, and fix-all as a whole: one preamble, idempotent, the file parses."""

from __future__ import annotations

import ast

import pytest

from switcheroo_lsp.engine import apply_edits, fix, fix_all, scan
from switcheroo_lsp.runtime import keymapper_source
from switcheroo_lsp.settings import Settings

IMPORT_MODE = Settings.from_dict({"preamble": "import"})[0]
LINE = "from switcheroo_lsp.runtime import KeyMapper\n"
CALL = "model.load_state_dict(sd)\n"
FIXED = "variables = KeyMapper.from_torch(sd)\n"


def migrate(text: str, settings: Settings | None = None) -> str:
    result = fix_all(text, settings)
    assert result.error is None, result.error
    out = apply_edits(text, result.edits)
    ast.parse(out.lstrip("\ufeff"))
    return out


PLACEMENTS = [
    ("file_starting_with_code", CALL, LINE + "\n" + FIXED),
    (
        "after_shebang_and_encoding_cookie",
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n" + CALL,
        "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n\n" + LINE + "\n" + FIXED,
    ),
    (
        "after_license_header",
        "# Copyright 2024 Someone\n# Licensed under MIT\n\n" + CALL,
        "# Copyright 2024 Someone\n# Licensed under MIT\n\n" + LINE + "\n" + FIXED,
    ),
    (
        "after_license_header_touching_the_code",
        "# Copyright 2024 Someone\n# Licensed under MIT\n" + CALL,
        "# Copyright 2024 Someone\n# Licensed under MIT\n\n" + LINE + "\n" + FIXED,
    ),
    (
        "comment_attached_to_code_stays_attached",
        "# load the weights\n" + CALL,
        LINE + "\n# load the weights\n" + FIXED,
    ),
    (
        "after_module_docstring",
        '"""Train."""\n\n' + CALL,
        '"""Train."""\n\n' + LINE + "\n" + FIXED,
    ),
    (
        "after_license_then_docstring",
        '# Copyright\n\n"""Doc."""\n' + CALL,
        '# Copyright\n\n"""Doc."""\n\n' + LINE + "\n" + FIXED,
    ),
    (
        "after_future_imports",
        '"""Doc."""\nfrom __future__ import annotations\n\n' + CALL,
        '"""Doc."""\nfrom __future__ import annotations\n\n' + LINE + "\n" + FIXED,
    ),
    (
        "joins_the_top_import_block",
        "import os\nimport torch\n\n" + CALL,
        "import os\nimport torch\n" + LINE + "\n" + FIXED,
    ),
    (
        "after_imports_interleaved_with_sys_path_setup",
        "import sys\nsys.path.append('..')\nimport mylib\n\nx = 1\n" + CALL,
        "import sys\nsys.path.append('..')\nimport mylib\n" + LINE + "\nx = 1\n" + FIXED,
    ),
    (
        "after_guarded_imports",
        "import os\ntry:\n    import apex\nexcept ImportError:\n    apex = None\n\n" + CALL,
        "import os\ntry:\n    import apex\nexcept ImportError:\n    apex = None\n"
        + LINE
        + "\n"
        + FIXED,
    ),
    (
        "before_module_level_code_that_uses_it_even_with_later_imports",
        "import os\n" + CALL + "import late\n",
        "import os\n\n" + LINE + FIXED + "import late\n",  # its own isort section
    ),
    (
        "after_type_checking_and_version_guards",
        "import sys\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    import tomli as tomllib\n\n"
        + CALL,
        "import sys\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    import tomli as tomllib\n"
        + LINE
        + "\n"
        + FIXED,
    ),
    (
        "never_after_the_main_guard",
        "import torch\n\nif __name__ == '__main__':\n    import sys\n    main(sys.argv)\n"
        "def main():\n    model = Net()\n    " + CALL,
        "import torch\n"
        + LINE
        + "\nif __name__ == '__main__':\n    import sys\n    main(sys.argv)\n"
        "def main():\n    model = Net()\n    " + FIXED,
    ),
    (
        "two_blank_lines_before_a_def",
        "import torch\n\n\ndef f():\n    model = Net()\n    " + CALL,
        "import torch\n" + LINE + "\n\ndef f():\n    model = Net()\n    " + FIXED,
    ),
]


@pytest.mark.parametrize(
    ("before", "after"), [p[1:] for p in PLACEMENTS], ids=[p[0] for p in PLACEMENTS]
)
def test_preamble_placement(before: str, after: str) -> None:
    assert migrate(before, IMPORT_MODE) == after


@pytest.mark.parametrize(
    "existing",
    [
        "from switcheroo_lsp.runtime import KeyMapper\n",
        "from mylib.convert import KeyMapper\n",
        "class KeyMapper:\n    @classmethod\n    def from_torch(cls, state):\n        return state\n",
        "try:\n    from mylib import KeyMapper\nexcept ImportError:\n    KeyMapper = None\n",
    ],
    ids=["imported", "imported_from_elsewhere", "defined", "imported_in_a_guard"],
)
def test_no_preamble_when_keymapper_is_already_there(existing: str) -> None:
    text = existing + "\n\n" + CALL
    assert migrate(text) == existing + "\n\n" + FIXED


def test_inline_preamble_is_the_runtime_source_without_its_docstring() -> None:
    out = migrate("import torch\n\n\ndef f():\n    model = Net()\n    " + CALL)
    tree = ast.parse(out)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert [c.name for c in classes] == ["KeyMapper"]
    runtime = ast.parse(keymapper_source())
    runtime_class = next(n for n in runtime.body if isinstance(n, ast.ClassDef))
    assert ast.dump(classes[0]) == ast.dump(runtime_class)
    assert ast.get_docstring(runtime) not in out
    assert "from __future__" not in out


def test_inline_preamble_is_placed_after_the_import_block_with_pep8_blank_lines() -> None:
    out = migrate("import torch\n\n\ndef f():\n    model = Net()\n    " + CALL)
    assert out.startswith("import torch\n\n\nclass KeyMapper:")
    assert "\n\n\ndef f():" in out
    assert "\n\n\n\n" not in out


@pytest.mark.parametrize(
    "imports",
    ["import jax\nimport numpy as np\n", "import numpy\n", "import jax.numpy as np\n", ""],
)
def test_inline_preamble_inserts_no_import_lines(imports: str) -> None:
    """The KeyMapper imports what it needs inside its methods: the file's bindings stay as
    they were (`import jax.numpy as np` keeps meaning jax.numpy)."""
    out = migrate(imports + "\n" + CALL)
    head = out[: out.index("class KeyMapper")]
    assert head.strip() == imports.strip()


def test_inline_preamble_runs() -> None:
    namespace: dict[str, object] = {}
    exec(
        compile(migrate("def f(sd):\n    model = Net()\n    " + CALL), "<migrated>", "exec"),
        namespace,
    )
    assert hasattr(namespace["KeyMapper"], "from_torch")


def test_one_preamble_for_many_calls() -> None:
    text = (
        "import torch\n\n\ndef f(sd):\n    encoder, decoder = Encoder(), Decoder()\n"
        "    encoder.load_state_dict(sd)\n    decoder.load_state_dict(sd)\n"
    )
    result = fix_all(text)
    assert result.fixed == 2
    assert apply_edits(text, result.edits).count("class KeyMapper") == 1


def test_quick_fix_inserts_the_preamble_once() -> None:
    text = "def f(sd):\n    a, b = A(), B()\n    a.load_state_dict(sd)\n    b.load_state_dict(sd)\n"
    once = apply_edits(text, fix(text, scan(text).findings[0].span.start).edits)
    twice = apply_edits(once, fix(once, scan(once).findings[0].span.start).edits)
    assert twice.count("class KeyMapper") == 1
    assert twice.count("variables = KeyMapper.from_torch(sd)") == 2


def test_fix_all_is_idempotent() -> None:
    text = "import torch\n\n\ndef f(model, opt, sd):\n    model.load_state_dict(sd)\n    opt.load_state_dict(sd)\n"
    once = migrate(text)
    result = fix_all(once)
    assert result.edits == () and result.error is None


def test_fixed_file_has_no_model_findings_left() -> None:
    once = migrate("def f(sd):\n    model = Net()\n    " + CALL)
    assert [f for f in scan(once).findings if f.kind.is_model] == []


def test_crlf_file_stays_crlf() -> None:
    text = "import torch\r\n\r\n\r\ndef f():\r\n    model = Net()\r\n    model.load_state_dict(\r\n        sd,\r\n        strict=False,\r\n    )\r\n"
    out = migrate(text)
    assert "\n" not in out.replace("\r\n", "")
    assert (
        "    variables = KeyMapper.from_torch(\r\n        sd,\r\n        strict=False,\r\n    )\r\n"
        in out
    )


def test_tabs_stay_tabs() -> None:
    text = (
        "import torch\n\n\ndef f():\n\tmodel = Net()\n\tif model:\n\t\tmodel.load_state_dict(sd)\n"
    )
    out = migrate(text)
    assert "\t\tvariables = KeyMapper.from_torch(sd)\n" in out
    class_lines = out[out.index("class KeyMapper") :].splitlines()[1:20]
    assert all(not line.startswith(" ") for line in class_lines)
    assert any(line.startswith("\t") for line in class_lines)


def test_byte_order_mark_is_kept() -> None:
    out = migrate("\ufeffimport torch\n" + CALL)
    assert out.startswith("\ufeffimport torch\n")


def test_file_without_trailing_newline() -> None:
    assert migrate("import torch\nmodel.load_state_dict(sd)", IMPORT_MODE) == (
        "import torch\n" + LINE + "variables = KeyMapper.from_torch(sd)"
    )


def test_non_parsing_file_gets_an_error_and_no_edits() -> None:
    text = "import torch\nmodel.load_state_dict(sd\n"
    result = fix_all(text)
    assert result.edits == () and "does not parse" in (result.error or "")
    assert fix(text, 13).edits == ()


def test_file_with_only_non_model_calls_gets_no_edits_and_says_why() -> None:
    result = fix_all("optimizer.load_state_dict(s)\n")
    assert result.edits == () and result.error is None
    assert len(result.skipped) == 1 and "optimizer" in result.skipped[0][1]


def test_fix_all_rewrites_every_wild_form_at_once() -> None:
    text = (
        "#!/usr/bin/env python\n"
        '"""Resume training."""\n'
        "from __future__ import annotations\n\n"
        "import torch\n\n\n"
        "def resume(optimizer, ckpt, p):\n"
        "    model, net = build()\n"
        '    model.load_state_dict(ckpt["model"])\n'
        '    optimizer.load_state_dict(ckpt["optimizer"])\n'
        '    net.load_state_dict(torch.load(p, map_location="cpu"), strict=False)\n'
        "    missing, unexpected = model.load_state_dict(sd, strict=False)\n"
        "    model.module.load_state_dict(sd)\n"
        "    return model.load_state_dict(sd, **extra)\n"
    )
    result = fix_all(text)
    out = apply_edits(text, result.edits)
    ast.parse(out)
    assert result.fixed == 4
    assert out.startswith(
        '#!/usr/bin/env python\n"""Resume training."""\nfrom __future__ import annotations\n\nimport torch\n'
    )
    assert '    optimizer.load_state_dict(ckpt["optimizer"])\n' in out
    assert "    return model.load_state_dict(sd, **extra)\n" in out
    assert len(result.skipped) == 2


def test_an_identical_import_further_down_is_not_duplicated() -> None:
    text = "import torch\n\n\ndef f(sd):\n    model = Net()\n    model.load_state_dict(sd)\n\n\nimport numpy as np\n"
    out = migrate(text)
    top_level = [ast.unparse(n) for n in ast.parse(out).body if isinstance(n, ast.Import)]
    assert top_level == ["import torch", "import numpy as np"]  # left where it was


# Inserting the KeyMapper never changes the meaning of a name the file already binds.
# The inlined class has no module-level imports: names like `np` and `jax` stay the user's.
KEPT = [
    ("jax_numpy_as_np", "import jax.numpy as np\n"),
    ("from_jax_import_numpy_as_np", "from jax import numpy as np\n"),
    ("np_assigned", "import numpy\n\nnp = numpy.random\n"),
    ("jax_bound_to_a_value", "jax = load_backend()\n"),
    ("jax_bound_in_a_guard", "try:\n    import jaxlib as jax\nexcept ImportError:\n    pass\n"),
]


@pytest.mark.parametrize("head", [r[1] for r in KEPT], ids=[r[0] for r in KEPT])
def test_inlining_keeps_every_name_the_file_binds(head: str) -> None:
    out = migrate(head + "\n\n" + CALL)
    assert out.count("class KeyMapper:") == 1
    kept = [
        ast.unparse(n)
        for n in ast.parse(out).body
        if not (isinstance(n, ast.ClassDef) and n.name == "KeyMapper")
    ]
    assert kept[:-1] == [ast.unparse(n) for n in ast.parse(head).body]  # then the rewritten call


REBINDING = [
    ("keymapper_of_the_users_own", "class KeyMapper:\n    pass\n", "`KeyMapper`"),
    ("keymapper_a_function", "def KeyMapper(x):\n    return x\n", "`KeyMapper`"),
]


@pytest.mark.parametrize(
    ("head", "name"), [r[1:] for r in REBINDING], ids=[r[0] for r in REBINDING]
)
def test_no_preamble_that_rebinds_a_name_of_the_file(head: str, name: str) -> None:
    text = head + "\n\n" + CALL
    result = fix_all(text)
    assert result.edits == () and name in (result.error or "")
    assert [why for _, why in result.skipped] == [result.error]
    (finding,) = scan(text).findings
    assert fix(text, finding.span.start).edits == ()


def test_a_binding_with_the_same_meaning_is_no_conflict() -> None:
    out = migrate("import jax\nimport numpy as np\n\n" + CALL)
    top = [
        ast.unparse(n) for n in ast.parse(out).body if isinstance(n, ast.Import | ast.ImportFrom)
    ]
    assert top == ["import jax", "import numpy as np"]


def test_import_mode_binds_only_keymapper() -> None:
    out = migrate("import jax.numpy as np\n\n" + CALL, IMPORT_MODE)
    assert "import jax.numpy as np\n" in out and FIXED in out


def test_the_rule_covers_every_line_the_preamble_would_insert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fake KeyMapper source with other imports and module-level names: each is checked."""
    from switcheroo_lsp.engine import preamble

    fake = (
        '"""A KeyMapper."""\nimport jax.numpy as jnp\nfrom os import path as osp\n\n'
        "SCALE = 2\n\n\nclass KeyMapper:\n    @classmethod\n    def from_torch(cls, state):\n"
        "        return jnp.asarray(state) * SCALE\n"
    )
    monkeypatch.setattr(preamble, "keymapper_preamble_source", lambda: preamble._split_source(fake))
    for head, name in [
        ("import numpy as jnp\n", "`jnp`"),
        ("osp = None\n", "`osp`"),
        ("SCALE = 10\n", "`SCALE`"),
    ]:
        result = fix_all(head + "\n\n" + CALL)
        assert result.edits == () and name in (result.error or ""), head
    same = "import jax.numpy as jnp\n\n\n" + CALL
    assert apply_edits(same, fix_all(same).edits).count("import jax.numpy as jnp") == 1
