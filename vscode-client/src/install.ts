/**
 * The Install button of the "not installed" notification: pip installs the server into the
 * user's interpreter from the wheel this .vsix carries (bundled/switcheroo_lsp-*.whl, built at
 * package time by scripts/bundle-wheel.sh), because switcheroo-lsp is not on PyPI. On success the
 * server restarts; on failure the user reads why, pip's last lines and the command to run by
 * hand. Kept free of the `vscode` module (the window is passed in) so that `npm test` runs it.
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import { bundledWheelName, installFailureMessage, pipInstallArgs, pipInstallCommandLine, type ProcessResult } from "./decisions";

/** Where the .vsix carries the wheel (beside bundled/libs and bundled/native of the platform .vsix). */
export const BUNDLED_WHEEL_DIR = "bundled";
/** pip resolves the dependencies (pygls, lsprotocol, libcst) from its index: allow slow networks. */
export const PIP_TIMEOUT_MS = 15 * 60_000;
export const SHOW_OUTPUT = "Show Output";
export const COPY_COMMAND = "Copy Command";

/** The wheel's full path, or undefined when this build carries none (a development build). */
export function findBundledWheel(extensionRoot: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(extensionRoot, BUNDLED_WHEEL_DIR));
  } catch {
    return undefined;
  }
  const name = bundledWheelName(names);
  return name === undefined ? undefined : path.join(extensionRoot, BUNDLED_WHEEL_DIR, name);
}

/** Starts a process and reports how it ended; each chunk of its output goes to `onOutput` as it comes. */
export type RunProcess = (
  command: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs: number; onOutput: (chunk: string) => void },
) => Promise<ProcessResult>;

/** {@link RunProcess} with node's child_process: stdout and stderr together, killed after the timeout. */
export const runProcess: RunProcess = (command, args, options) =>
  new Promise((resolve) => {
    let output = "";
    let errorCode: string | undefined;
    const child = spawn(command, [...args], { cwd: options.cwd, windowsHide: true, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => {
      errorCode = `timed out after ${options.timeoutMs >= 60_000 ? `${Math.round(options.timeoutMs / 60_000)} minutes` : `${options.timeoutMs} ms`}`;
      child.kill();
    }, options.timeoutMs);
    const take = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      output += text;
      options.onOutput(text);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (error: NodeJS.ErrnoException) => {
      errorCode ??= error.code ?? error.message;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: errorCode === undefined ? code : null, errorCode, output });
    });
  });

/** What the install needs from VS Code. */
export interface InstallWindow {
  /** One line in the output channel. */
  log(line: string): void;
  /** pip's own output, as it comes, into the output channel. */
  append(chunk: string): void;
  /** Run the task under a progress notification. */
  progress<T>(title: string, task: () => Promise<T>): Promise<T>;
  showError(message: string, ...items: string[]): Promise<string | undefined>;
  showOutput(): void;
  copy(text: string): Promise<void>;
  /** Start the server again (the probe then finds the installed module). */
  restart(): Promise<void>;
}

export type InstallResult = { kind: "installed" } | { kind: "failed"; message: string } | { kind: "no-wheel"; message: string };

/** Install the server into `python` from `wheel` with pip and restart it, or say why not. */
export async function installServer(
  request: { python: string; wheel: string | undefined; cwd: string; platform: NodeJS.Platform },
  window: InstallWindow,
  run: RunProcess = runProcess,
): Promise<InstallResult> {
  if (request.wheel === undefined) {
    const message =
      `Switcheroo: this build of the extension carries no switcheroo-lsp wheel to install. ` +
      `Install the server into ${request.python} from a clone of the repository: <python> -m pip install <clone>.`;
    window.log(message);
    await offerHelp(window, message, undefined);
    return { kind: "no-wheel", message };
  }
  const wheel = request.wheel;
  const commandLine = pipInstallCommandLine(request.python, wheel, request.platform);
  window.log(`installing the server: ${commandLine}`);
  const result = await window.progress("Switcheroo: installing the server with pip...", () =>
    run(request.python, pipInstallArgs(wheel), {
      cwd: request.cwd, // the extension's folder: `python -m pip` puts it first on sys.path
      timeoutMs: PIP_TIMEOUT_MS,
      onOutput: (chunk) => window.append(chunk),
    }),
  );
  if (result.exitCode === 0) {
    window.log("pip installed the server; starting it");
    await window.restart();
    return { kind: "installed" };
  }
  const message = installFailureMessage(request.python, commandLine, result);
  window.log(message);
  await offerHelp(window, message, commandLine);
  return { kind: "failed", message };
}

async function offerHelp(window: InstallWindow, message: string, commandLine: string | undefined): Promise<void> {
  const items = commandLine === undefined ? [SHOW_OUTPUT] : [SHOW_OUTPUT, COPY_COMMAND];
  const picked = await window.showError(message, ...items);
  if (picked === SHOW_OUTPUT) {
    window.showOutput();
  } else if (picked === COPY_COMMAND && commandLine !== undefined) {
    await window.copy(commandLine);
  }
}
