/**
 * What the client decides without asking VS Code: interpreter choice, the server command line,
 * the settings the server receives, restart-or-notify, and the migrateFile argument.
 * Run with `npm test` (node's built-in test runner over the compiled files).
 */

import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
  bundledLaunch,
  bundledPythonPath,
  chooseInterpreter,
  classifyConfigurationChange,
  commandReportMessage,
  expandInterpreterPath,
  initializationOptions,
  FALLBACK_INTERPRETER,
  interpreterFromPythonApi,
  migrateFileArguments,
  revealCallTarget,
  checkpointTreeTarget,
  checkpointTreeText,
  MODULE_MISSING_EXIT,
  moduleProbeArgs,
  parsePythonIdentity,
  bundledWheelName,
  installFailureMessage,
  outputTail,
  pipInstallArgs,
  pipInstallCommandLine,
  probeOutcome,
  type InspectedSetting,
  SERVER_DEFAULTS,
  SERVER_SETTING_KEYS,
  serverCommandLine,
  toServerSettings,
} from "../src/decisions";

const HOME = path.join(path.sep, "home", "ada");
const FOLDER = path.join(path.sep, "work", "project");

describe("interpreter choice", () => {
  it("prefers the switcheroo.interpreter setting over the Python extension", () => {
    const choice = chooseInterpreter({
      configured: "/opt/py/bin/python",
      fromPythonExtension: "/venv/bin/python",
      workspaceFolder: FOLDER,
      home: HOME,
    });
    assert.deepEqual(choice, { python: "/opt/py/bin/python", source: "setting" });
  });

  it("uses the Python extension's interpreter when the setting is empty or blank", () => {
    for (const configured of [undefined, "", "   "]) {
      const choice = chooseInterpreter({ configured, fromPythonExtension: "/venv/bin/python", workspaceFolder: FOLDER, home: HOME });
      assert.deepEqual(choice, { python: "/venv/bin/python", source: "python-extension" });
    }
  });

  it("falls back to python3 when neither names an interpreter", () => {
    const choice = chooseInterpreter({ configured: "", fromPythonExtension: undefined, workspaceFolder: undefined, home: HOME });
    assert.deepEqual(choice, { python: FALLBACK_INTERPRETER, source: "default" });
    assert.equal(FALLBACK_INTERPRETER, "python3");
  });

  it("expands ~, ${userHome} and ${workspaceFolder}, and resolves relative paths against the folder", () => {
    assert.equal(expandInterpreterPath("~/venv/bin/python", FOLDER, HOME), path.join(HOME, "venv/bin/python"));
    assert.equal(expandInterpreterPath("${userHome}/py", FOLDER, HOME), `${HOME}/py`);
    assert.equal(
      expandInterpreterPath("${workspaceFolder}/.venv/bin/python", FOLDER, HOME),
      `${FOLDER}/.venv/bin/python`,
    );
    assert.equal(expandInterpreterPath(".venv/bin/python", FOLDER, HOME), path.join(FOLDER, ".venv/bin/python"));
  });

  it("leaves a bare command name for PATH lookup and an absolute path as it is", () => {
    assert.equal(expandInterpreterPath("python3.11", FOLDER, HOME), "python3.11");
    assert.equal(expandInterpreterPath("  /usr/bin/python3  ", FOLDER, HOME), "/usr/bin/python3");
    assert.equal(expandInterpreterPath("C:\\Python311\\python.exe", FOLDER, HOME), "C:\\Python311\\python.exe");
  });
});

describe("the Python extension's API (optional)", () => {
  const executable = (fsPath: string) => ({ executable: { uri: { fsPath } } });

  it("resolves the active environment to its executable", async () => {
    const api = {
      ready: Promise.resolve(),
      environments: {
        getActiveEnvironmentPath: () => ({ id: "x", path: "/envs/conda-env" }),
        resolveEnvironment: () => Promise.resolve(executable("/envs/conda-env/bin/python")),
      },
    };
    assert.equal(await interpreterFromPythonApi(api, undefined), "/envs/conda-env/bin/python");
  });

  it("passes the workspace resource to getActiveEnvironmentPath", async () => {
    const seen: unknown[] = [];
    const api = {
      environments: {
        getActiveEnvironmentPath: (resource: unknown) => {
          seen.push(resource);
          return { path: "/venv/bin/python" };
        },
      },
    };
    const resource = { fsPath: FOLDER };
    assert.equal(await interpreterFromPythonApi(api, resource), "/venv/bin/python");
    assert.deepEqual(seen, [resource]);
  });

  it("uses the active path when the environment cannot be resolved", async () => {
    const api = {
      environments: {
        getActiveEnvironmentPath: () => ({ path: "/venv/bin/python" }),
        resolveEnvironment: () => Promise.reject(new Error("boom")),
      },
    };
    assert.equal(await interpreterFromPythonApi(api, undefined), "/venv/bin/python");
  });

  it("falls back to the older settings.getExecutionDetails API", async () => {
    const api = { settings: { getExecutionDetails: () => ({ execCommand: ["/old/python", "-X"] }) } };
    assert.equal(await interpreterFromPythonApi(api, undefined), "/old/python");
  });

  it("gives undefined for a missing, odd or throwing API instead of failing", async () => {
    const throwing = {
      environments: {
        getActiveEnvironmentPath: () => {
          throw new Error("not ready");
        },
      },
    };
    for (const api of [undefined, null, 42, {}, { environments: {} }, { environments: { getActiveEnvironmentPath: () => undefined } }, throwing]) {
      assert.equal(await interpreterFromPythonApi(api, undefined), undefined);
    }
  });
});

describe("server command line", () => {
  it("runs the switcheroo_lsp module with the chosen interpreter over stdio", () => {
    assert.deepEqual(serverCommandLine("/venv/bin/python"), { command: "/venv/bin/python", args: ["-m", "switcheroo_lsp"] });
  });

  it("probes for the module without importing it and signals a missing module with its own exit code", () => {
    const args = moduleProbeArgs();
    assert.equal(args[0], "-c");
    assert.match(args[1] ?? "", /find_spec\("switcheroo_lsp"\)/);
    assert.doesNotMatch(args[1] ?? "", /import switcheroo_lsp/);
    assert.match(args[1] ?? "", new RegExp(`else ${MODULE_MISSING_EXIT}\\)`));
  });

  it("installs the wheel the extension carries, never the name alone (switcheroo-lsp is not on PyPI)", () => {
    const wheel = "/ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl";
    assert.deepEqual(pipInstallArgs(wheel), ["-m", "pip", "install", wheel]);
    assert.equal(pipInstallCommandLine("/venv/bin/python", wheel, "linux"), `/venv/bin/python -m pip install ${wheel}`);
  });

  it("quotes the interpreter and the wheel for the user's shell", () => {
    assert.equal(
      pipInstallCommandLine("/Users/a b/it's/python", "/Users/a b/.vscode/ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl", "darwin"),
      `'/Users/a b/it'\\''s/python' -m pip install '/Users/a b/.vscode/ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl'`,
    );
    assert.equal(
      pipInstallCommandLine("C:\\Program Files\\Python\\python.exe", "C:\\ext\\bundled\\switcheroo_lsp-0.1.0-py3-none-any.whl", "win32"),
      "& 'C:\\Program Files\\Python\\python.exe' -m pip install C:\\ext\\bundled\\switcheroo_lsp-0.1.0-py3-none-any.whl",
    );
  });
});

describe("the bundled wheel", () => {
  it("is the switcheroo_lsp wheel among the bundle's files, the newest when there are several", () => {
    assert.equal(bundledWheelName(["libs", "native", "switcheroo_lsp-0.1.0-py3-none-any.whl"]), "switcheroo_lsp-0.1.0-py3-none-any.whl");
    assert.equal(
      bundledWheelName(["switcheroo_lsp-0.10.0-py3-none-any.whl", "switcheroo_lsp-0.9.0-py3-none-any.whl"]),
      "switcheroo_lsp-0.10.0-py3-none-any.whl",
    );
  });

  it("is none when the bundle has only other files", () => {
    assert.equal(bundledWheelName(["libs", "pygls-2.1.1-py3-none-any.whl", "switcheroo_lsp-0.1.0.tar.gz"]), undefined);
    assert.equal(bundledWheelName([]), undefined);
  });
});

describe("a failed install", () => {
  const command = "/venv/bin/python -m pip install /ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl";
  const pipOutput = [
    "Processing /ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl",
    "Collecting pygls<3,>=2.0 (from switcheroo-lsp==0.1.0)",
    "INFO: pip is looking at multiple versions of switcheroo-lsp to determine which version is compatible.",
    "",
    "ERROR: Could not find a version that satisfies the requirement pygls<3,>=2.0 (from switcheroo-lsp) (from versions: none)",
    "ERROR: No matching distribution found for pygls<3,>=2.0",
    "",
  ].join("\n");

  it("says pip's exit code, ends with pip's last lines and gives the command to run by hand", () => {
    const message = installFailureMessage("/venv/bin/python", command, { exitCode: 1, output: pipOutput });
    assert.match(message, /^Switcheroo: installing the server into \/venv\/bin\/python failed \(pip exited with code 1\)/);
    assert.ok(message.includes("ERROR: No matching distribution found for pygls<3,>=2.0"), message);
    assert.ok(message.includes("(from versions: none)"), message);
    assert.ok(message.endsWith(`Run it by hand: ${command}`), message);
    assert.ok(!message.includes("Processing"), "only the end of pip's output");
  });

  it("says the interpreter is missing when it could not be started", () => {
    const message = installFailureMessage("python3", "python3 -m pip install x.whl", { exitCode: null, errorCode: "ENOENT", output: "" });
    assert.match(message, /the interpreter "python3" was not found\)\. Run it by hand: python3 -m pip install x\.whl$/);
  });

  it("keeps at most the last 600 characters of pip's output", () => {
    const tail = outputTail(`${"x".repeat(2000)}\nERROR: last line`);
    assert.ok(tail.length <= 603, String(tail.length));
    assert.ok(tail.endsWith("ERROR: last line"));
  });
});

describe("probe outcome", () => {
  const choice = { python: "/venv/bin/python", source: "setting" as const };

  it("is ok on exit 0", () => {
    assert.deepEqual(probeOutcome(choice, { exitCode: 0, stderr: "" }), { kind: "ok" });
  });

  it("names the module and the interpreter when the module is missing", () => {
    const outcome = probeOutcome(choice, { exitCode: MODULE_MISSING_EXIT, stderr: "" });
    assert.equal(outcome.kind, "module-missing");
    assert.ok("message" in outcome);
    assert.match(outcome.message, /switcheroo_lsp/);
    assert.match(outcome.message, /\/venv\/bin\/python/);
    assert.match(outcome.message, /switcheroo\.interpreter/);
  });

  it("says the interpreter does not exist when spawning fails with ENOENT", () => {
    const outcome = probeOutcome({ python: "python3", source: "default" }, { errorCode: "ENOENT", exitCode: null, stderr: "" });
    assert.equal(outcome.kind, "interpreter-missing");
    assert.ok("message" in outcome);
    assert.match(outcome.message, /"python3".*not found/);
  });

  it("reports any other failure with the last line of stderr", () => {
    const outcome = probeOutcome(choice, { exitCode: 1, stderr: "Traceback\nSyntaxError: bad\n" });
    assert.equal(outcome.kind, "interpreter-failed");
    assert.ok("message" in outcome);
    assert.match(outcome.message, /exit code 1 \(SyntaxError: bad\)/);
  });
});

async function serverSettingsSource(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(path.join(__dirname, "..", "..", "..", "server", "switcheroo_lsp", "settings.py"), "utf8");
}

async function manifestProperties(): Promise<Record<string, unknown>> {
  const { readFile } = await import("node:fs/promises");
  const manifest = JSON.parse(await readFile(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
    contributes: { configuration: { properties: Record<string, unknown> } };
  };
  return manifest.contributes.configuration.properties;
}

function camelCase(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

describe("settings sent to the server", () => {
  /** An inspect() that knows the values given per key, as VS Code reports them. */
  const inspecting =
    (values: Record<string, InspectedSetting>) =>
    (key: string): InspectedSetting | undefined =>
      values[key];

  it("are empty when the user set nothing, so pyproject.toml and the server's defaults decide", () => {
    assert.deepEqual(toServerSettings(inspecting({})), {});
  });

  it("leave out a setting the user did not set", () => {
    const sent = toServerSettings(inspecting({ severity: { globalValue: "warning" } }));
    assert.equal("treeNames" in sent, false);
    assert.equal("preamble" in sent, false);
  });

  it("carry a setting the user set", () => {
    assert.deepEqual(toServerSettings(inspecting({ treeNames: { globalValue: "single" } })), { treeNames: "single" });
  });

  it("take the workspace folder's value over the workspace's and the user's", () => {
    const severity = { globalValue: "hint", workspaceValue: "error", workspaceFolderValue: "warning" };
    assert.deepEqual(toServerSettings(inspecting({ severity })), { severity: "warning" });
  });

  it("take the workspace's value over the user's", () => {
    const preamble = { globalValue: "import", workspaceValue: "module" };
    assert.deepEqual(toServerSettings(inspecting({ preamble })), { preamble: "module" });
  });

  it("carry a value equal to the default when the user set it (it overrides pyproject.toml)", () => {
    assert.deepEqual(toServerSettings(inspecting({ enable: { workspaceValue: true }, exclude: { globalValue: [] } })), {
      enable: true,
      exclude: [],
    });
  });

  it("leave out an empty keymapperModule (found from the layout, the server's default)", () => {
    assert.deepEqual(toServerSettings(inspecting({ keymapperModule: { workspaceValue: "" } })), {});
    assert.deepEqual(toServerSettings(inspecting({ keymapperModule: { workspaceValue: "src/pkg/_keymapper.py" } })), {
      keymapperModule: "src/pkg/_keymapper.py",
    });
  });

  it("carry every server setting the user set, under the server's names", () => {
    const user = {
      enable: false,
      severity: "warning",
      run: "onSave",
      fixOnSave: true,
      assignmentName: "params",
      treeNames: "single",
      preamble: "module",
      exclude: ["legacy/**"],
      maxFileSize: 1000,
      hintNonModel: false,
      unsafeFixes: true,
      keymapperModule: "tools/_keymapper.py",
      codeLens: false,
      previewOutsideWorkspace: true,
      checkpointDiagnostics: true,
    };
    const asSet = Object.fromEntries(Object.entries(user).map(([key, value]) => [key, { globalValue: value }]));
    assert.deepEqual(toServerSettings(inspecting(asSet)), user);
    assert.deepEqual(Object.keys(user).sort(), [...SERVER_SETTING_KEYS].sort(), "every server setting is covered");
  });

  it("ask only about the server's keys (not interpreter or trace)", () => {
    const asked: string[] = [];
    toServerSettings((key) => {
      asked.push(key);
      return { globalValue: "x" };
    });
    assert.deepEqual(asked, SERVER_SETTING_KEYS);
    assert.equal(asked.includes("interpreter" as never), false);
    assert.equal(asked.includes("trace" as never), false);
  });

  it("name every setting server/switcheroo_lsp/settings.py accepts, in camelCase", async () => {
    const converters = /^_CONVERTERS: dict\[str, Any\] = \{([^}]*)\}/m.exec(await serverSettingsSource());
    assert.ok(converters, "settings.py has its _CONVERTERS table");
    const serverKeys = [...(converters[1] ?? "").matchAll(/"(\w+)":/g)].map((m) => camelCase(m[1] ?? ""));
    assert.deepEqual([...SERVER_SETTING_KEYS].sort(), serverKeys.sort());
  });

  it("offer exactly the server's values for the enum settings in package.json", async () => {
    const source = await serverSettingsSource();
    const properties = (await manifestProperties()) as Record<string, { enum?: string[] }>;
    for (const [key, enumClass] of [
      ["severity", "Severity"],
      ["run", "RunMode"],
      ["treeNames", "TreeNames"],
      ["preamble", "PreambleMode"],
    ] as const) {
      const body = new RegExp(`class ${enumClass}\\(enum\\.Enum\\):([\\s\\S]*?)\\n\\n\\n`).exec(source);
      assert.ok(body, `settings.py defines ${enumClass}`);
      const values = [...(body[1] ?? "").matchAll(/^\s+[A-Z_]+ = "([^"]+)"/gm)].map((m) => m[1]);
      assert.deepEqual(properties[`switcheroo.${key}`]?.enum, values, `enum of switcheroo.${key}`);
    }
  });

  it("match the defaults contributed in package.json, setting by setting", async () => {
    const { readFile } = await import("node:fs/promises");
    const manifest = JSON.parse(await readFile(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
      contributes: { configuration: { properties: Record<string, { default: unknown; description?: string; markdownDescription?: string }> } };
    };
    const properties = manifest.contributes.configuration.properties;
    for (const [key, value] of Object.entries(SERVER_DEFAULTS)) {
      const property = properties[`switcheroo.${key}`];
      assert.ok(property, `package.json contributes switcheroo.${key}`);
      assert.deepEqual(property.default, value, `default of switcheroo.${key}`);
      assert.ok(property.description ?? property.markdownDescription, `switcheroo.${key} has a description`);
    }
    assert.ok(properties["switcheroo.interpreter"], "package.json contributes switcheroo.interpreter");
  });
});

describe("configuration changes", () => {
  const affecting = (...sections: string[]) => (section: string) =>
    sections.some((changed) => changed === section || changed.startsWith(`${section}.`));

  it("restart the server when the interpreter changes", () => {
    assert.equal(classifyConfigurationChange(affecting("switcheroo.interpreter")), "restart");
  });

  it("restart the server when any server setting changes, so it starts with them", () => {
    for (const key of Object.keys(SERVER_DEFAULTS)) {
      assert.equal(classifyConfigurationChange(affecting(`switcheroo.${key}`)), "restart", key);
    }
  });

  it("defer to the interpreter in use when the Python extension's interpreter setting changes", () => {
    assert.equal(classifyConfigurationChange(affecting("python.defaultInterpreterPath")), "python-interpreter");
  });

  it("leave the trace setting to vscode-languageclient and ignore other extensions' settings", () => {
    assert.equal(classifyConfigurationChange(affecting("switcheroo.trace.server")), "ignore");
    assert.equal(classifyConfigurationChange(affecting("editor.fontSize")), "ignore");
  });
});

describe("migrateFile arguments", () => {
  const uri = "file:///work/project/train.py";

  it("supply the active document's URI when the palette passes none", () => {
    assert.deepEqual(migrateFileArguments([], uri), [uri]);
    assert.deepEqual(migrateFileArguments([undefined], uri), [uri]);
  });

  it("keep an explicit URI argument", () => {
    assert.deepEqual(migrateFileArguments(["file:///other.py"], uri), ["file:///other.py"]);
  });

  it("turn a Uri object into its string form", () => {
    const uriObject = { scheme: "file", path: "/x.py", toString: () => "file:///x.py" };
    assert.deepEqual(migrateFileArguments([uriObject], uri), ["file:///x.py"]);
  });

  it("give undefined when there is no argument and no Python editor", () => {
    assert.equal(migrateFileArguments([], undefined), undefined);
  });
});

describe("migrate command report", () => {
  it("shows the server's message", () => {
    assert.deepEqual(commandReportMessage({ applied: true, changed: [{ uri: "file:///a.py", fixed: 2 }], message: "2 calls migrated" }), {
      text: "Switcheroo: 2 calls migrated",
      failed: false,
    });
  });

  it("does not repeat the server's own prefix", () => {
    assert.equal(commandReportMessage({ applied: true, message: "switcheroo: migrated 2 call(s) in 1 file(s)" })?.text, "Switcheroo: migrated 2 call(s) in 1 file(s)");
  });

  it("flags an edit the editor did not apply, but not a cancelled run", () => {
    assert.equal(commandReportMessage({ applied: false, message: "the editor refused the edit" })?.failed, true);
    assert.equal(commandReportMessage({ applied: false, cancelled: true, message: "cancelled" })?.failed, false);
  });

  it("shows nothing for results without a message", () => {
    for (const result of [undefined, null, "done", { applied: true }, { message: "  " }]) {
      assert.equal(commandReportMessage(result), undefined);
    }
  });
});

describe("the bundled server (interpreter without switcheroo_lsp)", () => {
  const EXT = path.join(path.sep, "ext", "switcheroo");
  const bundle = { root: EXT, nativeTags: ["cp310", "cp311", "cp312", "cp313", "cp314"] };
  const cpython = (major: number, minor: number) => ({ implementation: "cpython", major, minor });

  it("learns the interpreter's implementation and version from the module probe's output", async () => {
    const { spawnSync } = await import("node:child_process");
    // Exit 0 or 3 (module missing): the first line says which Python this is either way.
    const { stdout, status } = spawnSync("python3", moduleProbeArgs(), { encoding: "utf8", cwd: path.sep });
    assert.ok(status === 0 || status === MODULE_MISSING_EXIT, `probe exited ${status}`);
    const identity = parsePythonIdentity(stdout);
    assert.ok(identity, `probe printed ${JSON.stringify(stdout)}`);
    assert.equal(identity.implementation, "cpython");
    assert.equal(identity.major, 3);
  });

  it("parses 'cpython 3.12' and rejects anything else", () => {
    assert.deepEqual(parsePythonIdentity("cpython 3.12\n"), cpython(3, 12));
    assert.deepEqual(parsePythonIdentity("pypy 3.10\n"), { implementation: "pypy", major: 3, minor: 10 });
    assert.equal(parsePythonIdentity("('cpython', '2.7')\n"), undefined);
    assert.equal(parsePythonIdentity(""), undefined);
  });

  it("runs with PYTHONPATH on the pure libraries and the native folder of the interpreter's version", () => {
    assert.deepEqual(bundledLaunch(cpython(3, 11), bundle), {
      kind: "bundled",
      pythonPath: [path.join(EXT, "bundled", "libs"), path.join(EXT, "bundled", "native", "cp311")],
    });
    assert.deepEqual(bundledLaunch(cpython(3, 14), bundle), {
      kind: "bundled",
      pythonPath: [path.join(EXT, "bundled", "libs"), path.join(EXT, "bundled", "native", "cp314")],
    });
  });

  const unavailable: [string, ReturnType<typeof cpython> | undefined, typeof bundle | undefined, RegExp][] = [
    ["Python 3.9 is older than the bundle supports", cpython(3, 9), bundle, /needs Python 3\.10 or newer, not 3\.9/],
    ["Python 2.7 too", cpython(2, 7), bundle, /needs Python 3\.10 or newer, not 2\.7/],
    ["a version without native wheels in the bundle", cpython(3, 15), bundle, /no libcst build for Python 3\.15 \(carried: cp310, cp311/],
    ["PyPy (libcst's wheels are CPython's)", { implementation: "pypy", major: 3, minor: 11 }, bundle, /needs CPython, not pypy 3\.11/],
    ["an unreadable version", undefined, bundle, /version could not be read/],
    ["a build without the bundle", cpython(3, 11), undefined, /carries no bundled server/],
  ];
  for (const [name, identity, given, reason] of unavailable) {
    it(`is not used for ${name}: the missing-module flow stays, with the reason`, () => {
      const launch = bundledLaunch(identity, given);
      assert.equal(launch.kind, "unavailable");
      assert.ok("reason" in launch);
      assert.match(launch.reason, reason);
    });
  }

  it("puts the bundle before the user's own PYTHONPATH", () => {
    assert.equal(bundledPythonPath(["/b/libs", "/b/native/cp311"], undefined, ":"), "/b/libs:/b/native/cp311");
    assert.equal(bundledPythonPath(["/b/libs", "/b/native/cp311"], "/mine", ":"), "/b/libs:/b/native/cp311:/mine");
    assert.equal(bundledPythonPath(["C:\\b\\libs"], "", ";"), "C:\\b\\libs");
  });
});

describe("initializationOptions", () => {
  it("says the client runs switcheroo.revealCall, beside the user's settings", () => {
    assert.deepEqual(initializationOptions({ severity: "error" }), { severity: "error", revealCommand: true });
  });
});

describe("revealCallTarget", () => {
  const cases: [string, unknown[], { uri: string; line: number } | undefined][] = [
    ["a uri and a line", ["file:///p/train.py", 1312], { uri: "file:///p/train.py", line: 1312 }],
    ["line 0", ["file:///p/train.py", 0], { uri: "file:///p/train.py", line: 0 }],
    ["no arguments", [], undefined],
    ["a negative line", ["file:///p/train.py", -1], undefined],
    ["a fractional line", ["file:///p/train.py", 1.5], undefined],
    ["the line as a string", ["file:///p/train.py", "3"], undefined],
    ["an empty uri", ["", 3], undefined],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => {
      assert.deepEqual(revealCallTarget(args), expected);
    });
  }
});

describe("checkpointTreeTarget", () => {
  const preview = "switcheroo-preview:/p/weights/model.safetensors.flax-tree";
  const cases: [string, unknown[], { preview: string; document: string | undefined } | undefined][] = [
    ["a preview and its document", [preview, "file:///p/train.py"], { preview, document: "file:///p/train.py" }],
    ["a preview alone", [preview], { preview, document: undefined }],
    ["another scheme", ["file:///p/weights/model.safetensors", "file:///p/train.py"], undefined],
    ["no arguments", [], undefined],
    ["a number", [3], undefined],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => {
      assert.deepEqual(checkpointTreeTarget(args), expected);
    });
  }
});

describe("checkpointTreeText", () => {
  it("is the answer's text", () => {
    assert.equal(checkpointTreeText({ uri: "switcheroo-preview:/m.pt.flax-tree", text: "params\n" }), "params\n");
  });
  it("says so when the answer is not a tree", () => {
    assert.match(checkpointTreeText(null), /no checkpoint tree/);
    assert.match(checkpointTreeText({ text: 3 }), /no checkpoint tree/);
  });
});
