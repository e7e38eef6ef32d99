"""engine.checkpoint_paths: which checkpoint a literal or a load call names, read from the text alone."""

from __future__ import annotations

import pytest

from switcheroo_lsp.engine.checkpoint_paths import checkpoint_refs, ref_at


def refs_of(source: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(covered text, path, keys, call) of every reference."""
    return [
        (source[ref.start : ref.end], ref.path, ref.keys, ref.call)
        for ref in checkpoint_refs(source)
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'w = "weights/model.safetensors"\n',
            [('"weights/model.safetensors"', "weights/model.safetensors", (), "")],
        ),
        (
            'w = "model.safetensors.index.json"\n',
            [('"model.safetensors.index.json"', "model.safetensors.index.json", (), "")],
        ),
        (
            'w = Path("ckpt") / "sub" / "m.pt"\n',
            [('Path("ckpt") / "sub" / "m.pt"', "ckpt/sub/m.pt", (), "")],
        ),
        (
            'w = os.path.join("ckpt", "m.pth")\n',
            [('os.path.join("ckpt", "m.pth")', "ckpt/m.pth", (), "")],
        ),
        ('w = Path("ckpt", "m.bin")\n', [('Path("ckpt", "m.bin")', "ckpt/m.bin", (), "")]),
        (
            'w = Path(__file__).resolve().parent / "ckpt" / "m.pt"\n',
            [('Path(__file__).resolve().parent / "ckpt" / "m.pt"', "./ckpt/m.pt", (), "")],
        ),
        (
            'w = os.path.join(os.path.dirname(os.path.abspath(__file__)), "m.safetensors")\n',
            [
                (
                    'os.path.join(os.path.dirname(os.path.abspath(__file__)), "m.safetensors")',
                    "./m.safetensors",
                    (),
                    "",
                )
            ],
        ),
        ('w = Path(cfg).parent / "m.pt"\nv = os.path.join(root, "m.pt")\n', []),
        (
            'w = "pytorch_model.bin.index.json"\n',
            [('"pytorch_model.bin.index.json"', "pytorch_model.bin.index.json", (), "")],
        ),
        ('w = "notes.txt"\nx = "model.pt.bak"\ny = "config.index.json"\n', []),
        ('w = f"{run}/model.pt"\n', []),
    ],
)
def test_literals_naming_a_checkpoint(
    source: str, expected: list[tuple[str, str, tuple[str, ...], str]]
) -> None:
    assert refs_of(source) == expected


def test_a_load_call_follows_torch_load_subscripts_and_assignments() -> None:
    source = (
        "ckpt = torch.load('runs/last.pt', map_location='cpu')\n"
        "model.load_state_dict(ckpt['model'])\n"
    )
    assert refs_of(source) == [
        ("'runs/last.pt'", "runs/last.pt", (), ""),
        ("model.load_state_dict(ckpt['model'])", "runs/last.pt", ("model",), "load_state_dict"),
    ]


def test_a_call_in_a_function_uses_the_function_assignment_before_it_then_the_module() -> None:
    source = (
        "path = 'a.safetensors'\n"
        "def restore(net):\n"
        "    net.load_state_dict(load_file(path))\n"
        "    path = 'b.safetensors'\n"
        "    v = KeyMapper.from_torch(path)\n"
    )
    calls = [(path, call) for _, path, _, call in refs_of(source) if call]
    assert calls == [("a.safetensors", "load_state_dict"), ("b.safetensors", "from_torch")]


def test_a_load_of_something_unknown_names_no_checkpoint() -> None:
    source = "model.load_state_dict(torch.load(args.ckpt))\nother.from_torch('m.pt')\n"
    assert [call for *_, call in refs_of(source)] == [
        ""
    ]  # only the literal: other is not KeyMapper


def test_a_torch_load_of_a_subscript_is_not_followed_twice() -> None:
    source = "sd = load_file(cfg['m.safetensors'])\nmodel.load_state_dict(sd)\n"
    assert [call for *_, call in refs_of(source)] == [""]


def test_offsets_are_code_points_with_non_ascii_text_before() -> None:
    source = 'tag = "模型🙂"; model.load_state_dict(torch.load("ckpt/模型.pt"))\n'
    covered = [text for text, *_ in refs_of(source)]
    assert covered == ['model.load_state_dict(torch.load("ckpt/模型.pt"))', '"ckpt/模型.pt"']


def test_ref_at_prefers_the_literal_inside_a_call() -> None:
    source = 'model.load_state_dict(torch.load("m.pt"))\n'
    refs = checkpoint_refs(source)
    assert ref_at(refs, source.index("m.pt")) is not None
    assert ref_at(refs, source.index("m.pt")).call == ""  # type: ignore[union-attr]
    assert ref_at(refs, 2).call == "load_state_dict"  # type: ignore[union-attr]
    assert ref_at(refs, len(source)) is None


def test_a_text_that_does_not_parse_has_no_references() -> None:
    assert checkpoint_refs('x = "m.pt"\ndef (:\n') == ()
