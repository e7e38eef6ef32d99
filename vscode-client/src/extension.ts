/**
 * VS Code entry point: starts `<python> -m switcheroo_lsp` with vscode-languageclient, keeps it
 * in step with the interpreter and the settings, and tells the user plainly when it cannot run.
 * The decisions themselves live in decisions.ts, the Install button in install.ts (both
 * unit-tested without VS Code).
 */

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  type ExecuteCommandSignature,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";

import {
  type Bundle,
  BUNDLED_LIBS,
  BUNDLED_NATIVE,
  bundledLaunch,
  CHECKPOINT_TREE_COMMAND,
  checkpointTreeTarget,
  checkpointTreeText,
  bundledPythonPath,
  chooseInterpreter,
  classifyConfigurationChange,
  commandReportMessage,
  initializationOptions,
  type InterpreterChoice,
  interpreterFromPythonApi,
  migrateFileArguments,
  moduleProbeArgs,
  parsePythonIdentity,
  REVEAL_CALL_COMMAND,
  revealCallTarget,
  type PythonIdentity,
  PREVIEW_SCHEME,
  type ProbeOutcome,
  probeOutcome,
  SECTION,
  SERVER_MODULE,
  serverCommandLine,
  type ServerSettings,
  toServerSettings,
} from "./decisions";
import { findBundledWheel, installServer } from "./install";

const CLIENT_ID = "switcheroo"; // also makes `switcheroo.trace.server` work
const CLIENT_NAME = "Switcheroo";
const PYTHON_EXTENSION_ID = "ms-python.python";
const MIGRATE_FILE = "switcheroo.migrateFile";
const MIGRATE_WORKSPACE = "switcheroo.migrateWorkspace";
/** Commands the server registers through executeCommandProvider (vscode-languageclient registers them). */
const SERVER_COMMANDS = [MIGRATE_FILE, MIGRATE_WORKSPACE, CHECKPOINT_TREE_COMMAND];
const PROBE_TIMEOUT_MS = 30_000;
const SETTINGS_SETTLE_MS = 400;
const PYTHON_EXTENSION_TIMEOUT_MS = 15_000;

/** Owns the one language client of the window and its lifecycle. */
class SwitcherooServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private choice: InterpreterChoice | undefined;
  /** Why the server is not running, for the stand-in commands. */
  private notRunningReason = "it has not started yet";
  private standIns: vscode.Disposable[] = [];
  /** Serialises start/stop so rapid setting changes cannot start two servers. */
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;
  /** The document each open checkpoint preview was opened from (its settings decide what is read). */
  private readonly previewSources = new Map<string, string | undefined>();
  /** "Switcheroo" in the language status of Python editors: running, or why not. */
  private readonly status = vscode.languages.createLanguageStatusItem("switcheroo.status", { language: "python" });

  /**
   * @param safeCwd working directory for Python processes: the extension's own folder, never the
   *   user's project, where `python -m`/`-c` would put the project first on sys.path and a file
   *   named like a standard module (logging.py, ...) would be imported, i.e. executed.
   */
  constructor(
    private readonly output: vscode.OutputChannel,
    private readonly safeCwd: string,
  ) {
    this.status.name = CLIENT_NAME;
    this.status.command = { title: "Show Log", command: "switcheroo.showOutput" };
    this.showStatus("starting", vscode.LanguageStatusSeverity.Information);
    this.registerStandIns();
  }

  private showStatus(detail: string, severity: vscode.LanguageStatusSeverity): void {
    this.status.text = `Switcheroo: ${detail}`;
    this.status.severity = severity;
    this.status.busy = detail === "starting";
  }

  /** Queue a (re)start; resolves when it has finished, successfully or not. */
  restart(reason: string): Promise<void> {
    this.queue = this.queue.then(() => this.doRestart(reason)).catch((error: unknown) => {
      this.log(`restart failed: ${describe(error)}`);
    });
    return this.queue;
  }

  get interpreterSource(): InterpreterChoice["source"] | undefined {
    return this.choice?.source;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.status.dispose();
    this.disposeStandIns();
    await this.stopClient();
  }

  private async doRestart(reason: string): Promise<void> {
    if (this.disposed) {
      return;
    }
    this.log(`starting the server (${reason})`);
    this.showStatus("starting", vscode.LanguageStatusSeverity.Information);
    await this.stopClient();
    const choice = await resolveInterpreter();
    this.choice = choice;
    this.log(`interpreter: ${choice.python} (${describeSource(choice)})`);
    this.status.detail = `${choice.python} (${describeSource(choice)})`;

    const probed = await probe(choice, this.safeCwd);
    let outcome = probed.outcome;
    // Not installed in this interpreter: run the server the extension carries, if it can.
    let bundledPath: string[] | undefined;
    if (outcome.kind === "module-missing") {
      const launch = bundledLaunch(probed.identity, findBundle(this.safeCwd));
      if (launch.kind === "bundled") {
        bundledPath = launch.pythonPath;
        this.log(`${SERVER_MODULE} is not installed in ${choice.python}: running the server bundled with the extension`);
      } else {
        outcome = { ...outcome, message: outcome.message.replace(/\.$/, `, and ${launch.reason}.`) };
      }
    }
    if (outcome.kind !== "ok" && bundledPath === undefined) {
      this.notRunningReason = outcome.message.replace(/^Switcheroo: /, "");
      this.showStatus(outcome.kind === "module-missing" ? "not installed" : "no interpreter", vscode.LanguageStatusSeverity.Error);
      this.log(outcome.message);
      this.registerStandIns();
      void this.explain(outcome, choice);
      return;
    }

    const { command, args } = serverCommandLine(choice.python);
    const serverOptions: ServerOptions = {
      command,
      args,
      transport: TransportKind.stdio,
      options: {
        cwd: this.safeCwd,
        env: {
          ...process.env,
          PYTHONUNBUFFERED: "1",
          PYTHONIOENCODING: "utf-8",
          ...(bundledPath === undefined
            ? {}
            : { PYTHONPATH: bundledPythonPath(bundledPath, process.env["PYTHONPATH"], path.delimiter) }),
        },
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
        // Python cells of any notebook (.ipynb): the server syncs them as notebook documents.
        { notebook: "*", language: "python" },
      ],
      outputChannel: this.output,
      traceOutputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // The window's settings (user and workspace): a folder's own values come with its
      // workspace/configuration answer, which the server lays over these.
      initializationOptions: initializationOptions(userSettings(undefined)),
      initializationFailedHandler: (error: unknown) => {
        this.log(`the server failed to initialize: ${describe(error)}`);
        return false;
      },
      middleware: {
        executeCommand: (command: string, args: unknown[], next: ExecuteCommandSignature) =>
          this.executeServerCommand(command, args, next),
        workspace: {
          // The server asks for section "switcheroo", once without a scope and once per folder:
          // answer with the server's keys the user set for that scope (no interpreter/trace, no
          // defaults, so that the folder's pyproject.toml decides the rest).
          configuration: async (params, token, next) => {
            const result: unknown = await next(params, token);
            if (!Array.isArray(result)) {
              return result as never;
            }
            return result.map((value: unknown, index: number) => {
              const item = params.items[index];
              if (item?.section !== SECTION) {
                return value;
              }
              return userSettings(item.scopeUri === undefined ? undefined : vscode.Uri.parse(item.scopeUri));
            });
          },
        },
      },
    };

    this.disposeStandIns(); // the client registers the server's commands itself
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    this.client = client;
    // A server that keeps crashing is given up by vscode-languageclient: say so in the status.
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Stopped) {
        this.showStatus("stopped", vscode.LanguageStatusSeverity.Error);
      } else if (event.newState === State.Running) {
        this.showStatus("running", vscode.LanguageStatusSeverity.Information);
      }
    });
    try {
      await client.start();
      this.log(`the server is running (${command} ${args.join(" ")}${bundledPath === undefined ? "" : ", bundled"})`);
      this.showStatus(bundledPath === undefined ? "running" : "running (bundled)", vscode.LanguageStatusSeverity.Information);
    } catch (error: unknown) {
      this.client = undefined;
      this.notRunningReason = `it failed to start: ${describe(error)}`;
      this.showStatus("failed to start", vscode.LanguageStatusSeverity.Error);
      this.log(`the server failed to start: ${describe(error)}`);
      this.registerStandIns();
      void client.dispose().catch(() => undefined);
      void vscode.window
        .showErrorMessage(`Switcheroo: the server failed to start with ${choice.python}.`, "Show Log", "Restart Server")
        .then((picked) => this.onNotificationChoice(picked, choice));
    }
  }

  private async executeServerCommand(command: string, args: unknown[], next: ExecuteCommandSignature): Promise<unknown> {
    if (command === CHECKPOINT_TREE_COMMAND) {
      // A checkpoint code lens: show its tree as a read-only document (see checkpointTree).
      const target = checkpointTreeTarget(args);
      if (target === undefined) {
        return next(command, args);
      }
      const uri = vscode.Uri.parse(target.preview, true);
      this.previewSources.set(uri.toString(), target.document);
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      return undefined;
    }
    if (command === MIGRATE_FILE) {
      const editor = vscode.window.activeTextEditor;
      const activeUri = editor?.document.languageId === "python" ? editor.document.uri.toString() : undefined;
      const fixed = migrateFileArguments(args, activeUri);
      if (fixed === undefined) {
        void vscode.window.showWarningMessage("Switcheroo: open a Python file to migrate its load_state_dict calls.");
        return undefined;
      }
      return this.reportCommandResult(await next(command, fixed), { onlyFailures: false });
    }
    if (command === MIGRATE_WORKSPACE && args.length === 0) {
      const go = "Migrate";
      const picked = await vscode.window.showWarningMessage(
        "Switcheroo: rewrite every model load_state_dict call in all Python files of this workspace?",
        { modal: true, detail: "Every Python file not excluded by switcheroo.exclude is rewritten, in one edit." },
        go,
      );
      if (picked !== go) {
        return undefined;
      }
    }
    // migrateWorkspace shows its own message (window/showMessage) when it applied or was cancelled.
    return this.reportCommandResult(await next(command, args), { onlyFailures: command === MIGRATE_WORKSPACE });
  }

  /** The text of a switcheroo-preview: document: the checkpoint's Flax tree, from the server. */
  async checkpointTree(uri: vscode.Uri): Promise<string> {
    await this.queue;
    const client = this.client;
    if (client?.state !== State.Running) {
      return `# Switcheroo: the server is not running: ${this.notRunningReason}\n`;
    }
    const key = uri.toString();
    const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
      command: CHECKPOINT_TREE_COMMAND,
      arguments: [key, this.previewSources.get(key)].filter((argument) => argument !== undefined),
    });
    return checkpointTreeText(answer);
  }

  /** Say what a migrate command did (the server's report), then pass its result on. */
  private reportCommandResult(result: unknown, options: { onlyFailures: boolean }): unknown {
    const report = commandReportMessage(result);
    if (report !== undefined && (report.failed || !options.onlyFailures)) {
      this.log(report.text);
      if (report.failed) {
        void vscode.window.showWarningMessage(report.text, "Show Log").then((picked) => {
          if (picked === "Show Log") {
            this.output.show(true);
          }
        });
      } else {
        void vscode.window.showInformationMessage(report.text);
      }
    }
    return result;
  }

  private async explain(outcome: Exclude<ProbeOutcome, { kind: "ok" }>, choice: InterpreterChoice): Promise<void> {
    if (outcome.kind === "module-missing") {
      const picked = await vscode.window.showWarningMessage(
        `${outcome.message} Install it with pip, from the switcheroo-lsp wheel this extension carries?`,
        "Install",
        "Choose Interpreter",
        "Show Log",
      );
      await this.onNotificationChoice(picked, choice);
      return;
    }
    const picked = await vscode.window.showErrorMessage(outcome.message, "Choose Interpreter", "Show Log");
    await this.onNotificationChoice(picked, choice);
  }

  private async onNotificationChoice(picked: string | undefined, choice: InterpreterChoice): Promise<void> {
    switch (picked) {
      case "Install":
        await this.install(choice);
        break;
      case "Choose Interpreter":
        await vscode.commands.executeCommand("workbench.action.openSettings", `${SECTION}.interpreter`);
        break;
      case "Show Log":
        this.output.show(true);
        break;
      case "Restart Server":
        await this.restart("requested");
        break;
      default:
        break;
    }
  }

  /** pip-install the bundled wheel into the interpreter (install.ts), then restart the server. */
  private async install(choice: InterpreterChoice): Promise<void> {
    await installServer(
      { python: choice.python, wheel: findBundledWheel(this.safeCwd), cwd: this.safeCwd, platform: process.platform },
      {
        log: (line) => this.log(line),
        append: (chunk) => this.output.append(chunk),
        progress: (title, task) => Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, task)),
        showError: (message, ...items) => Promise.resolve(vscode.window.showErrorMessage(message, ...items)),
        showOutput: () => this.output.show(true),
        copy: (text) => Promise.resolve(vscode.env.clipboard.writeText(text)),
        restart: () => this.restart("installed"),
      },
    );
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      if (client.state === State.Running || client.state === State.Starting) {
        await client.stop(5000);
      }
    } catch (error: unknown) {
      this.log(`stopping the server: ${describe(error)}`);
    }
    await client.dispose().catch(() => undefined);
    this.registerStandIns();
  }

  /**
   * While the server is down, its commands would be "not found": stand-ins explain why instead.
   * They are removed before a client starts, because the client registers the real ones.
   */
  private registerStandIns(): void {
    if (this.standIns.length > 0 || this.disposed) {
      return;
    }
    for (const command of SERVER_COMMANDS) {
      this.standIns.push(
        vscode.commands.registerCommand(command, async (...args: unknown[]): Promise<unknown> => {
          // Invoked while the server is starting (e.g. the command activated the extension):
          // wait for the start, then hand over to the command the client has registered.
          await this.queue;
          if (this.client?.state === State.Running) {
            return vscode.commands.executeCommand(command, ...args);
          }
          const picked = await vscode.window.showWarningMessage(
            `Switcheroo: the server is not running: ${this.notRunningReason}`,
            "Restart Server",
            "Show Log",
          );
          if (picked === "Restart Server") {
            await this.restart("requested");
          } else if (picked === "Show Log") {
            this.output.show(true);
          }
          return undefined;
        }),
      );
    }
  }

  private disposeStandIns(): void {
    for (const disposable of this.standIns) {
      disposable.dispose();
    }
    this.standIns = [];
  }

  private log(message: string): void {
    this.output.appendLine(`[client ${new Date().toISOString()}] ${message}`);
  }
}

/**
 * Show the call a quick fix rewrote (see REVEAL_CALL_COMMAND): scroll it to the middle of its
 * editor when it is out of view and put the cursor at its start. Nothing happens when no
 * visible editor shows that document or the line is gone (the text changed meanwhile).
 */
function revealCall(args: readonly unknown[]): void {
  const target = revealCallTarget(args);
  if (target === undefined) {
    return;
  }
  const editors = [vscode.window.activeTextEditor, ...vscode.window.visibleTextEditors];
  const editor = editors.find((candidate) => candidate?.document.uri.toString() === target.uri);
  if (editor === undefined || target.line >= editor.document.lineCount) {
    return;
  }
  const line = editor.document.lineAt(target.line);
  const start = new vscode.Position(target.line, line.firstNonWhitespaceCharacterIndex);
  editor.selection = new vscode.Selection(start, start);
  editor.revealRange(line.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/** The server settings the user set for `scope` (a folder or file; undefined: the window). */
function userSettings(scope: vscode.Uri | undefined): Partial<ServerSettings> {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  return toServerSettings((key) => config.inspect(key));
}

function firstWorkspaceFolder(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}

/** The Python extension's exported API, if it is installed; never throws. */
async function pythonExtensionApi(): Promise<unknown> {
  const extension = vscode.extensions.getExtension(PYTHON_EXTENSION_ID);
  if (extension === undefined) {
    return undefined;
  }
  if (extension.isActive) {
    return extension.exports;
  }
  // Its activation can be slow (environment discovery); do not hold the server back for long.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), PYTHON_EXTENSION_TIMEOUT_MS);
  });
  try {
    return await Promise.race([Promise.resolve(extension.activate()).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function resolveInterpreter(): Promise<InterpreterChoice> {
  const folder = firstWorkspaceFolder();
  const configured = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<string>("interpreter");
  const fromPythonExtension = configured?.trim() ? undefined : await interpreterFromPythonApi(await pythonExtensionApi(), folder?.uri);
  return chooseInterpreter({
    configured,
    fromPythonExtension,
    workspaceFolder: folder?.uri.fsPath,
    home: os.homedir(),
  });
}

/** Ask the interpreter whether it can import the server, without running the server. */
function probe(choice: InterpreterChoice, cwd: string): Promise<{ outcome: ProbeOutcome; identity: PythonIdentity | undefined }> {
  return new Promise((resolve) => {
    execFile(
      choice.python,
      moduleProbeArgs(),
      { timeout: PROBE_TIMEOUT_MS, cwd, windowsHide: true },
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        const exitCode = error === null ? 0 : typeof code === "number" ? code : null;
        const errorCode = typeof code === "string" ? code : error?.killed ? "timed out" : undefined;
        resolve({
          outcome: probeOutcome(choice, { errorCode, exitCode, stderr: String(stderr) }),
          identity: parsePythonIdentity(String(stdout)),
        });
      },
    );
  });
}

/** The server this build carries (a platform-specific .vsix), or undefined (a plain build). */
function findBundle(extensionRoot: string): Bundle | undefined {
  const main = path.join(extensionRoot, ...BUNDLED_LIBS, SERVER_MODULE, "__main__.py");
  if (!fs.existsSync(main)) {
    return undefined;
  }
  try {
    const native = fs.readdirSync(path.join(extensionRoot, ...BUNDLED_NATIVE), { withFileTypes: true });
    const nativeTags = native.filter((entry) => entry.isDirectory() && /^cp3\d+$/.test(entry.name)).map((entry) => entry.name);
    return { root: extensionRoot, nativeTags };
  } catch {
    return { root: extensionRoot, nativeTags: [] };
  }
}

function describeSource(choice: InterpreterChoice): string {
  switch (choice.source) {
    case "setting":
      return "from switcheroo.interpreter";
    case "python-extension":
      return "selected in the Python extension";
    default:
      return "default";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let server: SwitcherooServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(output);
  const instance = new SwitcherooServer(output, context.extensionPath);
  server = instance;
  context.subscriptions.push({ dispose: () => void instance.dispose() });

  // Typing in the Settings editor changes a setting per keystroke: restart once it settles.
  let restartTimer: NodeJS.Timeout | undefined;
  function scheduleRestart(reason: string): void {
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void instance.restart(reason), SETTINGS_SETTLE_MS);
  }

  context.subscriptions.push(
    vscode.commands.registerCommand("switcheroo.restartServer", () => instance.restart("Switcheroo: Restart Server")),
    vscode.commands.registerCommand("switcheroo.showOutput", () => output.show(true)),
    vscode.commands.registerCommand(REVEAL_CALL_COMMAND, (...args: unknown[]) => revealCall(args)),
    vscode.workspace.registerTextDocumentContentProvider(PREVIEW_SCHEME, {
      provideTextDocumentContent: (uri) => instance.checkpointTree(uri),
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      const change = classifyConfigurationChange((section) => event.affectsConfiguration(section));
      if (change === "restart" || (change === "python-interpreter" && instance.interpreterSource !== "setting")) {
        scheduleRestart("the settings changed");
      }
    }),
    { dispose: () => clearTimeout(restartTimer) },
  );

  void watchPythonExtension(context, instance);
  void instance.restart("activation");
}

/** Restart when the Python extension's selected interpreter changes (and we are using it). */
async function watchPythonExtension(context: vscode.ExtensionContext, instance: SwitcherooServer): Promise<void> {
  const api = await pythonExtensionApi();
  if (typeof api !== "object" || api === null) {
    return;
  }
  const environments = (api as { environments?: { onDidChangeActiveEnvironmentPath?: unknown } }).environments;
  const onDidChange = environments?.onDidChangeActiveEnvironmentPath;
  if (typeof onDidChange !== "function") {
    return;
  }
  try {
    const subscription = (onDidChange as vscode.Event<unknown>)(() => {
      if (instance.interpreterSource !== "setting") {
        void instance.restart("the Python extension's interpreter changed");
      }
    });
    context.subscriptions.push(subscription);
  } catch {
    // The API is optional; without the event the user can still restart by command.
  }
}

export async function deactivate(): Promise<void> {
  await server?.dispose();
  server = undefined;
}
