/**
 * Everything the extension decides on its own, kept free of the `vscode` module so that
 * `npm test` can check it with plain Node: which interpreter runs the server, the server's
 * command line, which settings reach the server, and when a change needs a restart.
 */

import * as path from "node:path";

/** The settings section the server reads (initializationOptions and workspace/configuration). */
export const SECTION = "switcheroo";

/** The Python module that is the language server. */
export const SERVER_MODULE = "switcheroo_lsp";


/** Used when neither the setting nor the Python extension names an interpreter. */
export const FALLBACK_INTERPRETER = "python3";

/** The server's settings as it names them (API.md, server/switcheroo_lsp/settings.py), with its defaults. */
export interface ServerSettings {
  enable: boolean;
  severity: "error" | "warning" | "information" | "hint";
  run: "onType" | "onSave";
  fixOnSave: boolean;
  assignmentName: string;
  treeNames: "receiver" | "single";
  preamble: "inline" | "import" | "module";
  exclude: string[];
  maxFileSize: number;
  hintNonModel: boolean;
  unsafeFixes: boolean;
  keymapperModule: string;
  codeLens: boolean;
  previewOutsideWorkspace: boolean;
  checkpointDiagnostics: boolean;
}

/**
 * The server's own defaults, which are also the defaults package.json contributes. The extension
 * never sends them: a key it does not send leaves the value of `[tool.switcheroo]` in the
 * project's pyproject.toml, and without one the server's default.
 */
export const SERVER_DEFAULTS: Readonly<ServerSettings> = Object.freeze({
  enable: true,
  severity: "information",
  run: "onType",
  fixOnSave: false,
  assignmentName: "variables",
  treeNames: "receiver",
  preamble: "inline",
  exclude: [],
  maxFileSize: 2_000_000,
  hintNonModel: true,
  unsafeFixes: false,
  keymapperModule: "",
  codeLens: true,
  previewOutsideWorkspace: false,
  checkpointDiagnostics: false,
});

/** Keys of the server's settings, in a stable order. */
export const SERVER_SETTING_KEYS = Object.keys(SERVER_DEFAULTS) as (keyof ServerSettings)[];

/** Client-only settings under the same section: they never reach the server. */
export const CLIENT_ONLY_KEYS = ["interpreter", "trace"] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What VS Code's `WorkspaceConfiguration.inspect(key)` reports of one setting (the parts used here). */
export interface InspectedSetting {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * The value the user set for one setting: the workspace folder's, else the workspace's, else the
 * user's; undefined when nobody set it (the default package.json contributes is not a choice).
 */
export function userSetValue(inspected: InspectedSetting | undefined): unknown {
  if (inspected === undefined) {
    return undefined;
  }
  for (const value of [inspected.workspaceFolderValue, inspected.workspaceValue, inspected.globalValue]) {
    if (value !== undefined && value !== null) {
      return value;
    }
  }
  return undefined;
}

/**
 * The object sent as initializationOptions and as the answer to workspace/configuration: the
 * server's keys only (the server reports unknown keys as problems), and of those only the ones
 * the user set, so that pyproject.toml's `[tool.switcheroo]` decides every other one. Values are
 * passed as the user wrote them; the server validates them and says what it ignored. An empty
 * keymapperModule means "found from the layout", which is the server's default: it is not sent
 * (the server accepts only a path to a .py file there).
 */
export function toServerSettings(inspect: (key: keyof ServerSettings) => InspectedSetting | undefined): Partial<ServerSettings> {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = userSetValue(inspect(key));
    if (value === undefined || (key === "keymapperModule" && typeof value === "string" && value.trim() === "")) {
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** Where the interpreter came from, shown in the output channel and in error messages. */
export type InterpreterSource = "setting" | "python-extension" | "default";

export interface InterpreterChoice {
  python: string;
  source: InterpreterSource;
}

export interface InterpreterInputs {
  /** The `switcheroo.interpreter` setting as the user wrote it (may be empty or undefined). */
  configured: string | undefined;
  /** What the Python extension has selected for the workspace, if it is installed and answered. */
  fromPythonExtension: string | undefined;
  /** fsPath of the first workspace folder, for `${workspaceFolder}` and relative paths. */
  workspaceFolder: string | undefined;
  /** The user's home directory, for `~`. */
  home: string;
}

/**
 * Expand `~`, `${workspaceFolder}` and `${userHome}` in an interpreter setting, and resolve a
 * relative path (one with a separator, like `.venv/bin/python`) against the workspace folder.
 * A bare command name (`python3.11`) is left for PATH lookup.
 */
export function expandInterpreterPath(value: string, workspaceFolder: string | undefined, home: string): string {
  let expanded = value.trim();
  if (workspaceFolder !== undefined) {
    expanded = expanded.split("${workspaceFolder}").join(workspaceFolder);
  }
  expanded = expanded.split("${userHome}").join(home);
  if (expanded === "~") {
    expanded = home;
  } else if (expanded.startsWith("~/") || expanded.startsWith("~\\")) {
    expanded = path.join(home, expanded.slice(2));
  }
  const hasSeparator = expanded.includes("/") || expanded.includes("\\");
  if (hasSeparator && !path.isAbsolute(expanded) && !/^[A-Za-z]:[\\/]/.test(expanded) && workspaceFolder !== undefined) {
    expanded = path.join(workspaceFolder, expanded);
  }
  return expanded;
}

/** The setting wins, then the Python extension's selection, then `python3`. */
export function chooseInterpreter(inputs: InterpreterInputs): InterpreterChoice {
  const configured = inputs.configured?.trim();
  if (configured) {
    return { python: expandInterpreterPath(configured, inputs.workspaceFolder, inputs.home), source: "setting" };
  }
  const selected = inputs.fromPythonExtension?.trim();
  if (selected) {
    return { python: selected, source: "python-extension" };
  }
  return { python: FALLBACK_INTERPRETER, source: "default" };
}

/** How the server process is started: `<python> -m switcheroo_lsp` over stdio. */
export function serverCommandLine(python: string): { command: string; args: string[] } {
  return { command: python, args: ["-m", SERVER_MODULE] };
}

/**
 * Arguments that make the interpreter exit 0 when the server module is importable and
 * {@link MODULE_MISSING_EXIT} when it is not, without importing (running) the module.
 */
export const MODULE_MISSING_EXIT = 3;
/** It also prints the interpreter's implementation and version (`cpython 3.11`), for {@link bundledLaunch}. */
export function moduleProbeArgs(): string[] {
  return [
    "-c",
    "import importlib.util, sys; " +
      'print(sys.implementation.name, "%d.%d" % sys.version_info[:2]); ' +
      `sys.exit(0 if importlib.util.find_spec(${JSON.stringify(SERVER_MODULE)}) else ${MODULE_MISSING_EXIT})`,
  ];
}

/** The interpreter as the module probe printed it. */
export interface PythonIdentity {
  implementation: string;
  major: number;
  minor: number;
}

export function parsePythonIdentity(stdout: string): PythonIdentity | undefined {
  const match = /^([A-Za-z_]\w*) (\d+)\.(\d+)\s*$/m.exec(stdout);
  if (match === null) {
    return undefined;
  }
  return { implementation: match[1] ?? "", major: Number(match[2]), minor: Number(match[3]) };
}

/** Where the .vsix carries the server and its dependencies (scripts/bundle-python.sh). */
export const BUNDLED_LIBS = ["bundled", "libs"] as const;
/** One folder per CPython version (`cp311`, ...) with the native wheels (libcst, pyyaml). */
export const BUNDLED_NATIVE = ["bundled", "native"] as const;
/** The oldest Python the bundled server runs on (pyproject.toml's requires-python). */
export const BUNDLE_MIN_PYTHON = { major: 3, minor: 10 } as const;

/** What the extension found of its bundle: its folder and the `cpXY` folders under native/. */
export interface Bundle {
  root: string;
  nativeTags: readonly string[];
}

/**
 * How to run the bundled server with an interpreter that lacks switcheroo_lsp: PYTHONPATH set
 * to the pure-Python libraries and the native folder of its CPython version; or why it cannot
 * (no bundle in this build, not CPython, older than 3.10, no native wheels for its version).
 * An interpreter that has the module installed never gets here: the project's own copy wins.
 */
export type BundledLaunch = { kind: "bundled"; pythonPath: string[] } | { kind: "unavailable"; reason: string };

export function bundledLaunch(identity: PythonIdentity | undefined, bundle: Bundle | undefined): BundledLaunch {
  if (bundle === undefined) {
    return { kind: "unavailable", reason: "this build of the extension carries no bundled server" };
  }
  if (identity === undefined) {
    return { kind: "unavailable", reason: "the interpreter's version could not be read" };
  }
  const version = `${identity.major}.${identity.minor}`;
  if (identity.implementation !== "cpython") {
    return { kind: "unavailable", reason: `the bundled server needs CPython, not ${identity.implementation} ${version}` };
  }
  const { major, minor } = BUNDLE_MIN_PYTHON;
  if (identity.major < major || (identity.major === major && identity.minor < minor)) {
    return { kind: "unavailable", reason: `the bundled server needs Python ${major}.${minor} or newer, not ${version}` };
  }
  const tag = `cp${identity.major}${identity.minor}`;
  if (!bundle.nativeTags.includes(tag)) {
    const carried = [...bundle.nativeTags].sort().join(", ") || "none";
    return { kind: "unavailable", reason: `the bundled server has no libcst build for Python ${version} (carried: ${carried})` };
  }
  return {
    kind: "bundled",
    pythonPath: [path.join(bundle.root, ...BUNDLED_LIBS), path.join(bundle.root, ...BUNDLED_NATIVE, tag)],
  };
}

/** PYTHONPATH for the bundled server: the bundle first, then whatever the user had. */
export function bundledPythonPath(pythonPath: readonly string[], inherited: string | undefined, delimiter: string): string {
  return [...pythonPath, ...(inherited ? [inherited] : [])].join(delimiter);
}

/** Quote one word for the shell an integrated terminal runs. */
export function quoteForShell(word: string, platform: NodeJS.Platform): string {
  if (platform === "win32") {
    // PowerShell: single quotes are literal; double an inner single quote.
    return /^[A-Za-z0-9_\-.:\\/]+$/.test(word) ? word : `'${word.replace(/'/g, "''")}'`;
  }
  return /^[A-Za-z0-9_\-.,:/=+@%]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The wheel of switcheroo-lsp the .vsix carries in bundled/ (scripts/bundle-wheel.sh), among the
 * names in that folder; the newest version if there are several. switcheroo-lsp is not on PyPI,
 * so this wheel is what the Install button installs.
 */
export function bundledWheelName(names: readonly string[]): string | undefined {
  const wheels = names.filter((name) => /^switcheroo_lsp-[^-]+-py3-none-any\.whl$/.test(name));
  // Numeric collation: 0.10.0 is newer than 0.9.0.
  return wheels.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1);
}

/** pip's arguments to install the server from a wheel file (its dependencies come from the index pip uses). */
export function pipInstallArgs(wheel: string): string[] {
  return ["-m", "pip", "install", wheel];
}

/** The same install as one line for the user's shell, to run by hand when the button's pip failed. */
export function pipInstallCommandLine(python: string, wheel: string, platform: NodeJS.Platform): string {
  const quoted = quoteForShell(python, platform);
  // PowerShell needs the call operator to run a quoted path.
  const invoke = platform === "win32" && quoted.startsWith("'") ? `& ${quoted}` : quoted;
  return [invoke, ...pipInstallArgs(wheel).map((word) => quoteForShell(word, platform))].join(" ");
}

/** How a child process ended: its exit code, or why it did not run or was stopped, and what it printed. */
export interface ProcessResult {
  exitCode: number | null;
  /** ENOENT (no such interpreter), "timed out", ... */
  errorCode?: string | undefined;
  /** stdout and stderr, in the order they came. */
  output: string;
}

/** The last `lines` non-empty lines of a process's output, at most `maxChars` characters. */
export function outputTail(output: string, lines = 4, maxChars = 600): string {
  const tail = output
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .slice(-lines)
    .join(" / ");
  return tail.length > maxChars ? `...${tail.slice(-maxChars)}` : tail;
}

/** What the user reads when the Install button's pip failed: why, pip's last words, and the command to run by hand. */
export function installFailureMessage(python: string, commandLine: string, result: ProcessResult): string {
  const why =
    result.errorCode === "ENOENT"
      ? `the interpreter "${python}" was not found`
      : result.errorCode !== undefined
        ? `pip ${result.errorCode}`
        : `pip exited with code ${result.exitCode ?? "unknown"}`;
  const tail = outputTail(result.output);
  return `Switcheroo: installing the server into ${python} failed (${why})${tail ? `: ${tail}` : ""}. Run it by hand: ${commandLine}`;
}

/**
 * What a configuration change does: "restart" for the interpreter (a new process is needed) and
 * for every server setting (a restart hands them over as initializationOptions and the server
 * re-reads workspace/configuration), "python-interpreter" when the Python extension's
 * interpreter setting changed (restart only if that is the interpreter in use), else "ignore"
 * (`switcheroo.trace.server` is applied live by vscode-languageclient).
 */
export type ConfigurationChange = "restart" | "python-interpreter" | "ignore";
export function classifyConfigurationChange(affects: (section: string) => boolean): ConfigurationChange {
  if (affects(`${SECTION}.interpreter`) || SERVER_SETTING_KEYS.some((key) => affects(`${SECTION}.${key}`))) {
    return "restart";
  }
  if (affects("python.defaultInterpreterPath")) {
    return "python-interpreter";
  }
  return "ignore";
}

/**
 * Arguments for the server's `switcheroo.migrateFile` command: the palette passes none, so
 * the active editor's document URI is supplied; explicit arguments are kept as they are.
 * Returns undefined when there is nothing to migrate.
 */
export function migrateFileArguments(args: readonly unknown[], activeDocumentUri: string | undefined): unknown[] | undefined {
  if (args.length > 0 && args[0] !== undefined && args[0] !== null) {
    const first: unknown = args[0];
    // A Uri object (from an explorer or editor context menu) becomes its string form.
    if (isRecord(first) && typeof first["scheme"] === "string" && typeof first["toString"] === "function") {
      const asString = (first["toString"] as () => unknown).call(first);
      if (typeof asString === "string") {
        return [asString, ...args.slice(1)];
      }
    }
    return [...args];
  }
  return activeDocumentUri === undefined ? undefined : [activeDocumentUri];
}

/** Just enough of the Python extension's public API (`ms-python.python` exports) to find its interpreter. */
interface PythonEnvironmentsApi {
  getActiveEnvironmentPath(resource?: unknown): { path?: unknown } | undefined;
  resolveEnvironment?(environment: unknown): Promise<unknown>;
}

function environmentsOf(api: unknown): PythonEnvironmentsApi | undefined {
  if (!isRecord(api) || !isRecord(api["environments"])) {
    return undefined;
  }
  const environments = api["environments"];
  if (typeof environments["getActiveEnvironmentPath"] !== "function") {
    return undefined;
  }
  return environments as unknown as PythonEnvironmentsApi;
}

function executablePathOf(resolved: unknown): string | undefined {
  if (!isRecord(resolved) || !isRecord(resolved["executable"])) {
    return undefined;
  }
  const uri = resolved["executable"]["uri"];
  if (isRecord(uri) && typeof uri["fsPath"] === "string" && uri["fsPath"]) {
    return uri["fsPath"];
  }
  return undefined;
}

/**
 * The interpreter the Python extension selected for `resource`, from whatever its exported API
 * offers: `environments.getActiveEnvironmentPath` (resolved to the executable, since the path may
 * name an environment folder) or the older `settings.getExecutionDetails`. Any failure or an
 * unexpected shape gives undefined: the Python extension is optional.
 */
export async function interpreterFromPythonApi(api: unknown, resource: unknown): Promise<string | undefined> {
  try {
    if (isRecord(api) && api["ready"] instanceof Promise) {
      await withTimeout(api["ready"], 5000);
    }
    const environments = environmentsOf(api);
    if (environments !== undefined) {
      const active = environments.getActiveEnvironmentPath(resource);
      const activePath = active !== undefined && typeof active.path === "string" ? active.path : undefined;
      if (activePath) {
        if (typeof environments.resolveEnvironment === "function") {
          const resolved = await withTimeout(environments.resolveEnvironment(active), 5000).catch(() => undefined);
          const executable = executablePathOf(resolved);
          if (executable) {
            return executable;
          }
        }
        return activePath;
      }
    }
    if (isRecord(api) && isRecord(api["settings"]) && typeof api["settings"]["getExecutionDetails"] === "function") {
      const details: unknown = (api["settings"]["getExecutionDetails"] as (r: unknown) => unknown)(resource);
      if (isRecord(details) && Array.isArray(details["execCommand"]) && typeof details["execCommand"][0] === "string") {
        return details["execCommand"][0] || undefined;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) {
      clearTimeout(timer);
    }
  }
}

/** What the module probe found, and the message the user sees for it. */
export type ProbeOutcome =
  | { kind: "ok" }
  | { kind: "module-missing"; message: string }
  | { kind: "interpreter-missing"; message: string }
  | { kind: "interpreter-failed"; message: string };

/** Turn the probe's exit into a user-facing outcome (spawn error code, exit code, stderr). */
export function probeOutcome(
  choice: InterpreterChoice,
  result: { errorCode?: string | undefined; exitCode: number | null; stderr: string },
): ProbeOutcome {
  const where =
    choice.source === "setting"
      ? "set in switcheroo.interpreter"
      : choice.source === "python-extension"
        ? "selected in the Python extension"
        : "the default; set switcheroo.interpreter to choose another";
  if (result.errorCode === "ENOENT") {
    return {
      kind: "interpreter-missing",
      message: `Switcheroo: the Python interpreter "${choice.python}" (${where}) was not found.`,
    };
  }
  if (result.exitCode === 0) {
    return { kind: "ok" };
  }
  if (result.exitCode === MODULE_MISSING_EXIT) {
    return {
      kind: "module-missing",
      message: `Switcheroo: the server module "${SERVER_MODULE}" is not installed in ${choice.python} (${where}).`,
    };
  }
  const detail = result.stderr.trim().split("\n").slice(-1)[0] ?? "";
  return {
    kind: "interpreter-failed",
    message:
      `Switcheroo: could not run "${choice.python}" (${where})` +
      (result.errorCode ? `: ${result.errorCode}` : result.exitCode !== null ? `: exit code ${result.exitCode}` : "") +
      (detail ? ` (${detail})` : "") +
      ".",
  };
}

/**
 * The line shown after a migrate command: the server answers with a report whose `message`
 * says what happened ("2 calls migrated", "nothing to migrate", ...). Anything else: nothing.
 */
export function commandReportMessage(result: unknown): { text: string; failed: boolean } | undefined {
  if (!isRecord(result) || typeof result["message"] !== "string" || !result["message"].trim()) {
    return undefined;
  }
  const failed = result["applied"] === false && result["cancelled"] !== true;
  const message = result["message"].trim().replace(/^switcheroo:\s*/i, "");
  return { text: `Switcheroo: ${message}`, failed };
}

/**
 * The client-side command a quick fix runs once its edit is in: arguments `[uri, line]`, the
 * rewritten call's 0-based line in the fixed text. The inserted KeyMapper class would otherwise
 * push the call out of view. The server adds it only for a client that says it runs it
 * ({@link REVEAL_CALL_OPTION}); it is not a server command (not in executeCommandProvider).
 */
export const REVEAL_CALL_COMMAND = "switcheroo.revealCall";

/** The initializationOptions key by which the extension says it runs {@link REVEAL_CALL_COMMAND}. */
export const REVEAL_CALL_OPTION = "revealCommand";

/** initializationOptions: the user's server settings and the client's own capability beside them. */
export function initializationOptions(settings: Partial<ServerSettings>): Record<string, unknown> {
  return { ...settings, [REVEAL_CALL_OPTION]: true };
}

/** The `[uri, line]` of a {@link REVEAL_CALL_COMMAND} call, or undefined when they are malformed. */
export function revealCallTarget(args: readonly unknown[]): { uri: string; line: number } | undefined {
  const [uri, line] = args;
  if (typeof uri !== "string" || uri === "" || typeof line !== "number" || !Number.isInteger(line) || line < 0) {
    return undefined;
  }
  return { uri, line };
}

/**
 * The server command a checkpoint code lens runs: `[preview uri, document uri]`, answered with
 * `{uri, text}` (the full Flax tree). The extension opens the preview uri as a read-only document
 * instead, whose content provider asks the server for the text.
 */
export const CHECKPOINT_TREE_COMMAND = "switcheroo.checkpointTree";

/** The uri scheme of those read-only documents. */
export const PREVIEW_SCHEME = "switcheroo-preview";

/** The `[preview uri, document uri]` of a {@link CHECKPOINT_TREE_COMMAND} call, or undefined. */
export function checkpointTreeTarget(args: readonly unknown[]): { preview: string; document: string | undefined } | undefined {
  const [preview, document] = args;
  if (typeof preview !== "string" || !preview.startsWith(`${PREVIEW_SCHEME}:`)) {
    return undefined;
  }
  return { preview, document: typeof document === "string" && document !== "" ? document : undefined };
}

/** The text of a {@link CHECKPOINT_TREE_COMMAND} answer, or a line saying the answer was not one. */
export function checkpointTreeText(answer: unknown): string {
  if (typeof answer === "object" && answer !== null && typeof (answer as { text?: unknown }).text === "string") {
    return (answer as { text: string }).text;
  }
  return "# the server sent no checkpoint tree (is it running?)\n";
}
