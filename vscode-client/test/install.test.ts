/**
 * The Install button (install.ts): pip installs the wheel the .vsix carries, a failure tells the
 * user why and what to run, a success restarts the server. The window is a recording fake; pip
 * is a fake process, and runProcess is checked against a real child process (node itself).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import type { ProcessResult } from "../src/decisions";
import { COPY_COMMAND, findBundledWheel, type InstallWindow, installServer, type RunProcess, runProcess, SHOW_OUTPUT } from "../src/install";

const PYTHON = "/venv/bin/python";
const WHEEL = "/ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl";

/** A window that records what the install did and answers the error message with `pick`. */
function recordingWindow(pick?: string) {
  const seen = {
    log: [] as string[],
    appended: "",
    progress: [] as string[],
    errors: [] as { message: string; items: string[] }[],
    outputShown: 0,
    copied: [] as string[],
    restarts: 0,
  };
  const window: InstallWindow = {
    log: (line) => void seen.log.push(line),
    append: (chunk) => void (seen.appended += chunk),
    progress: (title, task) => {
      seen.progress.push(title);
      return task();
    },
    showError: (message, ...items) => {
      seen.errors.push({ message, items });
      return Promise.resolve(pick);
    },
    showOutput: () => void (seen.outputShown += 1),
    copy: (text) => {
      seen.copied.push(text);
      return Promise.resolve();
    },
    restart: () => {
      seen.restarts += 1;
      return Promise.resolve();
    },
  };
  return { window, seen };
}

/** A fake pip: records its command line, prints `output` and ends with `result`. */
function fakePip(result: Omit<ProcessResult, "output">, output: string) {
  const calls: { command: string; args: readonly string[]; cwd: string }[] = [];
  const run: RunProcess = (command, args, options) => {
    calls.push({ command, args, cwd: options.cwd });
    options.onOutput(output);
    return Promise.resolve({ ...result, output });
  };
  return { run, calls };
}

const request = { python: PYTHON, wheel: WHEEL, cwd: "/ext", platform: "linux" as const };

describe("the Install button", () => {
  it("runs pip on the bundled wheel with the chosen interpreter, from the extension's folder", async () => {
    const { window } = recordingWindow();
    const pip = fakePip({ exitCode: 0 }, "Successfully installed switcheroo-lsp-0.1.0\n");
    await installServer(request, window, pip.run);
    assert.deepEqual(pip.calls, [{ command: PYTHON, args: ["-m", "pip", "install", WHEEL], cwd: "/ext" }]);
  });

  it("restarts the server once pip succeeded, and shows no error", async () => {
    const { window, seen } = recordingWindow();
    const pip = fakePip({ exitCode: 0 }, "Successfully installed switcheroo-lsp-0.1.0\n");
    const result = await installServer(request, window, pip.run);
    assert.deepEqual(result, { kind: "installed" });
    assert.equal(seen.restarts, 1);
    assert.deepEqual(seen.errors, []);
    assert.equal(seen.appended, "Successfully installed switcheroo-lsp-0.1.0\n", "pip's output reaches the output channel");
    assert.equal(seen.progress.length, 1);
  });

  it("on failure shows pip's last lines and the command to run by hand, offers the output, and does not restart", async () => {
    const { window, seen } = recordingWindow(SHOW_OUTPUT);
    const output =
      "Processing /ext/bundled/switcheroo_lsp-0.1.0-py3-none-any.whl\n" +
      "ERROR: Could not find a version that satisfies the requirement pygls<3,>=2.0 (from versions: none)\n" +
      "ERROR: No matching distribution found for pygls<3,>=2.0\n";
    const pip = fakePip({ exitCode: 1 }, output);
    const result = await installServer(request, window, pip.run);
    assert.equal(result.kind, "failed");
    assert.equal(seen.restarts, 0);
    assert.equal(seen.errors.length, 1);
    const shown = seen.errors[0];
    assert.ok(shown !== undefined);
    assert.ok(shown.message.includes("pip exited with code 1"), shown.message);
    assert.ok(shown.message.includes("ERROR: No matching distribution found for pygls<3,>=2.0"), shown.message);
    assert.ok(shown.message.endsWith(`Run it by hand: ${PYTHON} -m pip install ${WHEEL}`), shown.message);
    assert.deepEqual(shown.items, [SHOW_OUTPUT, COPY_COMMAND]);
    assert.equal(seen.outputShown, 1, "Show Output opens the output channel");
    assert.ok(seen.log.includes(shown.message), "the message is in the log too");
  });

  it("copies the command when the user picks Copy Command", async () => {
    const { window, seen } = recordingWindow(COPY_COMMAND);
    await installServer(request, window, fakePip({ exitCode: 2 }, "ERROR: externally-managed-environment\n").run);
    assert.deepEqual(seen.copied, [`${PYTHON} -m pip install ${WHEEL}`]);
    assert.equal(seen.outputShown, 0);
  });

  it("without a bundled wheel runs nothing and says how to install by hand", async () => {
    const { window, seen } = recordingWindow();
    const pip = fakePip({ exitCode: 0 }, "");
    const result = await installServer({ ...request, wheel: undefined }, window, pip.run);
    assert.equal(result.kind, "no-wheel");
    assert.deepEqual(pip.calls, []);
    assert.equal(seen.restarts, 0);
    assert.match(seen.errors[0]?.message ?? "", /carries no switcheroo-lsp wheel.*-m pip install/);
  });
});

describe("finding the bundled wheel", () => {
  it("finds bundled/switcheroo_lsp-*.whl in the extension's folder, and nothing in a folder without one", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "switcheroo-ext-"));
    try {
      assert.equal(findBundledWheel(root), undefined, "no bundled/ at all");
      fs.mkdirSync(path.join(root, "bundled", "libs"), { recursive: true });
      assert.equal(findBundledWheel(root), undefined, "bundled/ without a wheel");
      fs.writeFileSync(path.join(root, "bundled", "switcheroo_lsp-0.1.0-py3-none-any.whl"), "");
      assert.equal(findBundledWheel(root), path.join(root, "bundled", "switcheroo_lsp-0.1.0-py3-none-any.whl"));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("running pip", () => {
  it("collects stdout and stderr as they come and reports the exit code", async () => {
    const chunks: string[] = [];
    const script = "process.stdout.write('out line\\n'); process.stderr.write('ERROR: err line\\n'); process.exit(7)";
    const result = await runProcess(process.execPath, ["-e", script], {
      cwd: os.tmpdir(),
      timeoutMs: 60_000,
      onOutput: (chunk) => void chunks.push(chunk),
    });
    assert.equal(result.exitCode, 7);
    assert.equal(result.errorCode, undefined);
    assert.match(result.output, /out line/);
    assert.match(result.output, /ERROR: err line/);
    assert.equal(chunks.join(""), result.output);
  });

  it("reports an interpreter that does not exist as ENOENT", async () => {
    const result = await runProcess(path.join(os.tmpdir(), "no-such-python-here"), ["-m", "pip"], {
      cwd: os.tmpdir(),
      timeoutMs: 60_000,
      onOutput: () => undefined,
    });
    assert.equal(result.exitCode, null);
    assert.equal(result.errorCode, "ENOENT");
  });

  it("stops a pip that runs past the timeout", async () => {
    const result = await runProcess(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], {
      cwd: os.tmpdir(),
      timeoutMs: 200,
      onOutput: () => undefined,
    });
    assert.equal(result.exitCode, null);
    assert.match(result.errorCode ?? "", /^timed out/);
  });
});
