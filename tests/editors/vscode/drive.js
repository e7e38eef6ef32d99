#!/usr/bin/env node
/**
 * Drives code-server (VS Code in the browser) in headless Chromium with playwright-core, the way
 * a person would: open the file, look at the squiggles, Ctrl+. / Enter / Ctrl+S. It only acts
 * and observes the page; tests/editors/test_vscode.py starts code-server and judges the file on disk.
 *
 * Usage: node drive.js '<json config>'  (config: see `readConfig`). Exit 0 with a JSON report on
 * stdout; exit 1 with "FAILED: <what>" on stderr. A screenshot is written to config.shots for
 * every step (NN-step.png), whatever the outcome.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const MODEL_SEVERITIES = ["squiggly-error", "squiggly-warning", "squiggly-info"];
const QUICK_FIX_TITLE = "Convert to KeyMapper.from_torch";
const REWRITTEN_CALL = "variables = KeyMapper.from_torch(";
/** Code editors: a file's, in the editor part; a notebook's cells, in the overlay VS Code lays over it. */
const CODE_EDITORS = ".part.editor .monaco-editor, .notebookOverlay .monaco-editor";

function readConfig() {
  const raw = process.argv[2];
  if (!raw) {
    throw new Error("usage: node drive.js '<json config>'");
  }
  const config = JSON.parse(raw);
  for (const key of ["url", "folder", "file", "scenario", "shots", "chromium"]) {
    if (!config[key]) {
      throw new Error(`config.${key} is required`);
    }
  }
  return { stepTimeoutMs: 30_000, startTimeoutMs: 90_000, ...config };
}

class Failure extends Error {}

let shotCount = 0;
async function shot(page, config, name) {
  shotCount += 1;
  const file = path.join(config.shots, `${String(shotCount).padStart(2, "0")}-${name}.png`);
  try {
    await page.screenshot({ path: file, timeout: 10_000 });
  } catch (error) {
    log(`screenshot ${name} failed: ${error.message}`);
  }
  return file;
}

function log(message) {
  process.stderr.write(`[drive ${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

/** Wait for `predicate()` to return a truthy value, polling; fail with `what` after `ms`. */
async function waitUntil(what, ms, predicate, intervalMs = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await predicate();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Failure(`${what} (waited ${Math.round(ms / 1000)} s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Every squiggle in the editor area (a file's editor, or each cell editor of a notebook) with the
 * text of the line it sits on. Monaco draws decorations in .view-overlays and text in
 * .view-lines; lines are matched by vertical position within the same editor.
 */
async function squigglesByLine(page) {
  return page.evaluate((codeEditors) => {
    const found = [];
    for (const editor of document.querySelectorAll(codeEditors)) {
      const lines = [...editor.querySelectorAll(".view-lines .view-line")].map((element) => {
        const rect = element.getBoundingClientRect();
        return { top: rect.top, bottom: rect.bottom, text: (element.textContent || "").replace(/\u00a0/g, " ") };
      });
      for (const element of editor.querySelectorAll(".view-overlays [class*='squiggly-']")) {
        const rect = element.getBoundingClientRect();
        const middle = rect.top + rect.height / 2;
        const line = lines.find((candidate) => middle >= candidate.top && middle <= candidate.bottom);
        const kind = [...element.classList].find((name) => name.startsWith("squiggly-")) || "";
        found.push({ kind, line: line ? line.text : "", box: { x: rect.x, y: rect.y, width: rect.width, height: rect.height } });
      }
    }
    return found;
  }, CODE_EDITORS);
}

/**
 * The text lines inside the visible part of the first code editor (Monaco also renders a few
 * lines just outside its viewport: those are left out), and the status bar's cursor position.
 */
async function viewportLines(page) {
  return page.evaluate((codeEditors) => {
    const editor = document.querySelector(codeEditors);
    const viewport = editor?.querySelector(".lines-content")?.closest(".monaco-scrollable-element");
    if (!editor || !viewport) {
      return [];
    }
    const box = viewport.getBoundingClientRect();
    return [...editor.querySelectorAll(".view-lines .view-line")]
      .filter((element) => {
        const rect = element.getBoundingClientRect();
        return rect.top >= box.top - 1 && rect.bottom <= box.bottom + 1;
      })
      .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
      .map((element) => (element.textContent || "").replace(/\u00a0/g, " "));
  }, CODE_EDITORS);
}

async function cursorPosition(page) {
  return page
    .locator(".statusbar-item", { hasText: /Ln \d+, Col \d+/ })
    .first()
    .innerText({ timeout: 2000 })
    .catch(() => "");
}

async function openWorkbench(page, config) {
  const url = `${config.url}/?folder=${encodeURIComponent(config.folder)}`;
  log(`open ${url}`);
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: config.startTimeoutMs });
  await page
    .locator(".monaco-workbench")
    .waitFor({ state: "visible", timeout: config.startTimeoutMs })
    .catch(() => {
      throw new Failure("the VS Code workbench (.monaco-workbench) did not appear");
    });
}

async function openFile(page, config) {
  const name = path.basename(config.file);
  const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: name }).first();
  try {
    await row.waitFor({ state: "visible", timeout: config.startTimeoutMs });
    await row.click();
  } catch {
    // The explorer may be collapsed in some layouts: Quick Open finds the file too.
    log("explorer row not found; using Quick Open");
    await page.keyboard.press("Control+p");
    await page.keyboard.type(name);
    await page.keyboard.press("Enter");
  }
  await page
    .locator(CODE_EDITORS.split(", ").map((editor) => `${editor} .view-lines`).join(", "), {
      hasText: config.openedText || "load_state_dict",
    })
    .first()
    .waitFor({ state: "visible", timeout: config.stepTimeoutMs })
    .catch(() => {
      throw new Failure(`${name} did not open in an editor`);
    });
}

/** Wait for the model call's squiggle; return all squiggles (after they have settled). */
async function waitForModelSquiggle(page, config) {
  await waitUntil(
    `no diagnostic squiggle (${MODEL_SEVERITIES.join("/")}) appeared on the model's load_state_dict line ` +
      `(is the extension installed and the server starting? see the server log in the test output)`,
    config.startTimeoutMs,
    async () => {
      const squiggles = await squigglesByLine(page);
      return squiggles.some((s) => MODEL_SEVERITIES.includes(s.kind) && s.line.includes(config.modelCall));
    },
  );
  // Diagnostics arrive together; give a straggler on the optimizer line a moment to show up.
  await page.waitForTimeout(1000);
  return squigglesByLine(page);
}

async function dirtyTabCount(page) {
  return page.locator(".tabs-container .tab.dirty").count();
}

async function saveAndWaitForDisk(page, config, expectOnDisk) {
  await page.keyboard.press("Control+s");
  await waitUntil(
    `the file on disk did not change to contain ${JSON.stringify(expectOnDisk)} after Ctrl+S`,
    config.stepTimeoutMs,
    () => fs.readFileSync(config.file, "utf8").includes(expectOnDisk),
  );
  await waitUntil("the editor tab stayed dirty after saving", config.stepTimeoutMs, async () => (await dirtyTabCount(page)) === 0);
}

async function quickFixScenario(page, config, report) {
  const squiggles = await waitForModelSquiggle(page, config);
  report.squiggles = squiggles.map(({ kind, line }) => ({ kind, line: line.trim() }));
  await shot(page, config, "diagnostics");

  const onOptimizer = squiggles.filter((s) => MODEL_SEVERITIES.includes(s.kind) && s.line.includes(config.optimizerCall));
  if (onOptimizer.length > 0) {
    throw new Failure(`the optimizer call has a ${onOptimizer[0].kind} squiggle; only the model call should`);
  }
  const model = squiggles.find((s) => MODEL_SEVERITIES.includes(s.kind) && s.line.includes(config.modelCall));

  // A locator click lands on .view-lines, which intercepts it: click the squiggle's own box.
  await page.mouse.click(model.box.x + Math.min(model.box.width / 2, 40), model.box.y + model.box.height / 2);
  // As a person would: the light bulb shows that fixes are there, then Ctrl+. opens them.
  await page
    .locator(
      [".lightBulbWidget", "[class*='lightbulb']", "[class*='light-bulb']"]
        .flatMap((selector) => CODE_EDITORS.split(", ").map((editor) => `${editor} ${selector}`))
        .join(", "),
    )
    .filter({ visible: true })
    .first()
    .waitFor({ state: "visible", timeout: config.stepTimeoutMs })
    .catch(() => {
      throw new Failure("no light bulb appeared on the model call's line after clicking it");
    });
  await page.keyboard.press("Control+.");
  const widget = page.locator(".action-widget");
  await widget.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
    throw new Failure("Ctrl+. did not open the quick fix menu (.action-widget)");
  });
  await page
    .locator(".action-widget .monaco-list-row", { hasText: QUICK_FIX_TITLE })
    .first()
    .waitFor({ state: "visible", timeout: config.stepTimeoutMs })
    .catch(async () => {
      const offered = await widget.innerText().catch(() => "");
      throw new Failure(`the quick fix menu does not offer "${QUICK_FIX_TITLE}"; it shows: ${JSON.stringify(offered)}`);
    });
  report.actions = (await page.locator(".action-widget .monaco-list-row").allInnerTexts()).map((t) => t.trim());
  await shot(page, config, "quickfix-menu");
  // The README's picture: the editor area only (the menu floats over it, so it is in the clip).
  report.quickFixShot = path.join(config.shots, "quickfix-editor.png");
  const editorBox = await page.locator(".part.editor").boundingBox();
  await page.screenshot({
    path: report.quickFixShot,
    clip: { x: editorBox.x, y: editorBox.y, width: editorBox.width, height: Math.min(editorBox.height, 420) },
  });

  // Move the selection to our fix if it is not the focused entry already.
  for (let i = 0; i < 10; i += 1) {
    const focused = await page.locator(".action-widget .monaco-list-row.focused").innerText().catch(() => "");
    if (focused.includes(QUICK_FIX_TITLE)) {
      break;
    }
    await page.keyboard.press("ArrowDown");
  }
  const before = fs.readFileSync(config.file, "utf8");
  await page.keyboard.press("Enter");
  // Applied = the editor holds unsaved changes (or, with files.refactoring.autoSave, the file changed).
  await waitUntil(
    "Enter did not apply the quick fix (the editor did not become dirty and the file did not change)",
    config.stepTimeoutMs,
    async () => (await dirtyTabCount(page)) > 0 || fs.readFileSync(config.file, "utf8") !== before,
  );
  report.dirtyAfterEnter = (await dirtyTabCount(page)) > 0;
  // The view follows the fix: the rewritten call is scrolled into view (the KeyMapper class went
  // in above it) and the cursor is on it. Waited for, since the reveal runs after the edit.
  await waitUntil("the rewritten call did not come into view after the quick fix", config.stepTimeoutMs, async () =>
    (await viewportLines(page)).some((line) => line.includes(REWRITTEN_CALL)),
  ).catch(() => undefined);
  report.viewportAfterFix = await viewportLines(page);
  report.cursorAfterFix = await cursorPosition(page);
  await shot(page, config, "fix-applied");

  await saveAndWaitForDisk(page, config, "KeyMapper.from_torch(");
  await shot(page, config, "saved");
}

/**
 * The .ipynb opens in the notebook editor (VS Code's built-in Jupyter serializer, no Python or
 * Jupyter extension): its cells are Python from the notebook's metadata, so the server checks
 * them; then the same Ctrl+. / Enter / Ctrl+S as in a file, on the model call's cell.
 */
async function notebookQuickFixScenario(page, config, report) {
  const notebookEditor = page.locator(".notebookOverlay.notebook-editor").filter({ visible: true }).first();
  const jsonText = page.locator(".part.editor .monaco-editor .view-lines", { hasText: "cell_type" }).first();
  // A click on the file before the built-in ipynb extension has registered the notebook type
  // opens the JSON text instead; a person would then reopen it with the notebook editor.
  const openedAs = await waitUntil(
    `${path.basename(config.file)} shows neither the notebook editor nor its JSON text`,
    config.stepTimeoutMs,
    async () => ((await notebookEditor.isVisible()) ? "notebook" : (await jsonText.isVisible()) ? "text" : undefined),
  );
  report.reopenedWith = openedAs === "text";
  if (openedAs === "text") {
    log("opened as text; View: Reopen Editor With... Jupyter Notebook");
    await shot(page, config, "opened-as-text");
    await jsonText.click({ position: { x: 4, y: 4 } });
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input").first();
    await input.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
      throw new Failure("F1 did not open the Command Palette");
    });
    await input.fill(">View: Reopen Editor With...");
    await page
      .locator(".quick-input-widget .monaco-list-row", { hasText: "View: Reopen Editor With..." })
      .first()
      .waitFor({ state: "visible", timeout: config.stepTimeoutMs })
      .catch(() => {
        throw new Failure('the Command Palette has no "View: Reopen Editor With..."');
      });
    await page.keyboard.press("Enter");
    const choice = page.locator(".quick-input-widget .monaco-list-row", { hasText: "Jupyter Notebook" }).first();
    await choice.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(async () => {
      const offered = await page.locator(".quick-input-widget .monaco-list-row").allInnerTexts().catch(() => []);
      throw new Failure(`"Reopen Editor With..." does not offer "Jupyter Notebook"; it offers: ${JSON.stringify(offered)}`);
    });
    await choice.click();
    await notebookEditor.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
      throw new Failure(`${path.basename(config.file)} did not open in the notebook editor (.notebook-editor)`);
    });
  }
  await shot(page, config, "notebook");
  await quickFixScenario(page, config, report);
}

async function fixAllOnSaveScenario(page, config) {
  await waitForModelSquiggle(page, config);
  await shot(page, config, "diagnostics");
  // An edit first, as a person would: then Ctrl+S runs the codeActionsOnSave participants.
  const model = (await squigglesByLine(page)).find((s) => MODEL_SEVERITIES.includes(s.kind));
  await page.mouse.click(model.box.x + 4, model.box.y + model.box.height / 2);
  await page.keyboard.press("Control+End");
  await page.keyboard.type(config.typeBeforeSave || "# edited\n");
  await waitUntil("typing did not make the editor dirty", config.stepTimeoutMs, async () => (await dirtyTabCount(page)) > 0);
  await shot(page, config, "edited");
  await saveAndWaitForDisk(page, config, "KeyMapper.from_torch(");
  await shot(page, config, "saved");
}

/**
 * The server module is missing in the interpreter: a notification says so and offers Install,
 * which pip-installs the wheel the .vsix carries. `config.install`: "succeeds" (the server then
 * starts by itself) or "fails" (an error with pip's last lines, the command to run by hand and a
 * Show Output button, which opens the output channel).
 */
async function moduleMissingScenario(page, config, report) {
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "is not installed" }).first();
  await toast.waitFor({ state: "visible", timeout: config.startTimeoutMs }).catch(() => {
    throw new Failure('no notification saying the server module "is not installed" appeared');
  });
  report.notification = (await toast.innerText()).replace(/\s+/g, " ").trim();
  await shot(page, config, "notification");
  await toast.getByRole("button", { name: "Install" }).click();
  if (config.install === "succeeds") {
    await waitForModelSquiggle(page, config);
    report.startedAfterInstall = true;
    await shot(page, config, "started-after-install");
    return;
  }
  const error = page.locator(".notifications-toasts .notification-toast", { hasText: "Run it by hand" }).first();
  await error.waitFor({ state: "visible", timeout: config.startTimeoutMs }).catch(() => {
    throw new Failure("no error saying what to run by hand appeared after Install");
  });
  report.installError = (await error.innerText()).replace(/\s+/g, " ").trim();
  report.installErrorButtons = (await error.getByRole("button").allInnerTexts()).map((text) => text.trim());
  await shot(page, config, "install-failed");
  await error.getByRole("button", { name: "Show Output" }).click();
  const output = page.locator(".part.panel .view-lines", { hasText: "pip install" }).first();
  await output.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
    throw new Failure("Show Output did not open the output channel with pip's command in it");
  });
  report.outputShown = true;
  await shot(page, config, "install-output");
}

/**
 * Changing a switcheroo setting reaches the server: the squiggle follows the new severity.
 * With `expectSquiggleBefore`, the squiggle must first be of that kind (set by pyproject.toml).
 */
async function settingsChangeScenario(page, config, report) {
  const before = await waitForModelSquiggle(page, config);
  if (config.expectSquiggleBefore) {
    const settled = await waitUntil(
      `before the change the model call's squiggle did not become ${config.expectSquiggleBefore}`,
      config.startTimeoutMs,
      async () => {
        const now = await squigglesByLine(page);
        return now.some((s) => s.kind === config.expectSquiggleBefore && s.line.includes(config.modelCall)) ? now : undefined;
      },
    );
    report.squigglesBefore = settled.map(({ kind, line }) => ({ kind, line: line.trim() }));
  } else {
    report.squigglesBefore = before.map(({ kind, line }) => ({ kind, line: line.trim() }));
  }
  await shot(page, config, "diagnostics-before");
  const settingsFile = path.join(config.folder, ".vscode", "settings.json");
  const settings = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
  Object.assign(settings, config.settingsChange);
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  const squiggles = await waitUntil(
    `after changing ${JSON.stringify(config.settingsChange)} the model call's squiggle did not become ${config.expectSquiggle}`,
    config.startTimeoutMs,
    async () => {
      const now = await squigglesByLine(page);
      return now.some((s) => s.kind === config.expectSquiggle && s.line.includes(config.modelCall)) ? now : undefined;
    },
  );
  report.squiggles = squiggles.map(({ kind, line }) => ({ kind, line: line.trim() }));
  await shot(page, config, "diagnostics-after");
}

/** Run a command by its title through the Command Palette (F1), as a person would. */
async function runFromPalette(page, config, title) {
  // Focus the editor: a click on its first line (a locator click is intercepted by .view-lines).
  const firstLine = await page.locator(".part.editor .monaco-editor .view-line").first().boundingBox();
  await page.mouse.click(firstLine.x + 2, firstLine.y + firstLine.height / 2);
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
    throw new Failure("F1 did not open the Command Palette");
  });
  await input.fill(`>${title}`);
  const entry = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
  await entry.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
    throw new Failure(`the Command Palette has no "${title}"`);
  });
  await shot(page, config, "command-palette");
  await page.keyboard.press("Enter");
}

/** Restart Server, then the palette command runs the server's switcheroo.migrateFile on the active editor. */
async function migrateCommandScenario(page, config, report) {
  await waitForModelSquiggle(page, config);
  await runFromPalette(page, config, "Switcheroo: Restart Server");
  // Stopping the client clears its diagnostics; the new server publishes them again.
  await waitUntil("Restart Server did not stop the server (its diagnostics stayed)", config.stepTimeoutMs, async () =>
    !(await squigglesByLine(page)).some((s) => MODEL_SEVERITIES.includes(s.kind)),
  50);
  await waitForModelSquiggle(page, config);
  await runFromPalette(page, config, config.commandTitle);
  await waitUntil(
    "the migrate command did not change the document (editor not dirty)",
    config.stepTimeoutMs,
    async () => (await dirtyTabCount(page)) > 0,
  );
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "Switcheroo:" }).first();
  await toast.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
    throw new Failure("no notification said what the migrate command did");
  });
  report.notification = (await toast.innerText()).replace(/\s+/g, " ").trim();
  await shot(page, config, "migrated");
  await saveAndWaitForDisk(page, config, "KeyMapper.from_torch(");
  await shot(page, config, "saved");
}

/** Text of an element with non-breaking spaces made plain. */
function plain(text) {
  return (text || "").replace(/\u00a0/g, " ");
}

/**
 * The checkpoint preview: the code lens above the model call (its text read from the DOM), the
 * hover on the call (its text, and a screenshot showing both), then a click on the lens opens
 * the read-only switcheroo-preview: document with the whole Flax tree.
 */
async function checkpointPreviewScenario(page, config, report) {
  const squiggles = await waitForModelSquiggle(page, config);
  const lens = page.locator(`${CODE_EDITORS.split(", ")[0]} .codelens-decoration`, { hasText: "Flax leaves" }).first();
  await lens.waitFor({ state: "visible", timeout: config.startTimeoutMs }).catch(() => {
    throw new Failure('no code lens with "Flax leaves" appeared above the model call');
  });
  report.lenses = (await page.locator(".codelens-decoration").allInnerTexts()).map((t) => plain(t).trim());

  const model = squiggles.find((s) => MODEL_SEVERITIES.includes(s.kind) && s.line.includes(config.modelCall));
  const hover = page.locator(".monaco-hover", { hasText: "Flax leaves" }).filter({ visible: true }).first();
  const x = model.box.x + Math.min(model.box.width / 2, 60);
  const y = model.box.y + model.box.height / 2;
  await waitUntil("no hover with the checkpoint's Flax tree appeared over the model call", config.stepTimeoutMs, async () => {
    await page.mouse.move(x - 3, y);
    await page.mouse.move(x, y);
    return hover.isVisible({ timeout: 1500 }).catch(() => false) || hover.waitFor({ state: "visible", timeout: 1500 }).then(() => true, () => false);
  }, 500);
  report.hover = plain(await hover.innerText());
  report.previewShot = await shot(page, config, "hover-and-lens");

  await page.mouse.move(5, 5); // let the hover go, so it does not cover the lens
  await page.keyboard.press("Escape");
  await lens.locator("a", { hasText: "Flax leaves" }).first().click();
  const tree = page
    .locator(".part.editor .monaco-editor .view-lines", { hasText: config.treeText || "params" })
    .first();
  await tree.waitFor({ state: "visible", timeout: config.stepTimeoutMs }).catch(() => {
    throw new Failure("clicking the code lens did not open the checkpoint tree document");
  });
  report.tabs = (await page.locator(".tabs-container .tab").allInnerTexts()).map((t) => plain(t).trim());
  report.treeLines = (await tree.locator(".view-line").allInnerTexts()).map((t) => plain(t));
  report.treeShot = await shot(page, config, "tree-document");
}

async function main() {
  const config = readConfig();
  fs.mkdirSync(config.shots, { recursive: true });
  const report = { scenario: config.scenario };
  const browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    timeout: config.startTimeoutMs,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  let page;
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.setDefaultTimeout(config.stepTimeoutMs);
    page.on("pageerror", (error) => log(`page error: ${error.message}`));
    await openWorkbench(page, config);
    await openFile(page, config);
    await shot(page, config, "opened");
    if (config.scenario === "moduleMissing") {
      await moduleMissingScenario(page, config, report);
    } else if (config.scenario === "migrateCommand") {
      await migrateCommandScenario(page, config, report);
    } else if (config.scenario === "settingsChange") {
      await settingsChangeScenario(page, config, report);
    } else if (config.scenario === "quickfix") {
      await quickFixScenario(page, config, report);
    } else if (config.scenario === "notebookQuickfix") {
      await notebookQuickFixScenario(page, config, report);
    } else if (config.scenario === "checkpointPreview") {
      await checkpointPreviewScenario(page, config, report);
    } else if (config.scenario === "fixAllOnSave") {
      await fixAllOnSaveScenario(page, config);
    } else {
      throw new Failure(`unknown scenario ${config.scenario}`);
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } catch (error) {
    if (page) {
      const tabs = await page
        .locator(".tabs-container .tab")
        .evaluateAll((elements) => elements.map((element) => `${element.getAttribute("aria-label")} [${element.className}]`))
        .catch(() => []);
      log(`editor tabs: ${JSON.stringify(tabs)}`);
      await shot(page, config, "failure");
    }
    throw error;
  } finally {
    await browser.close().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    const message = error instanceof Failure ? error.message : error && error.stack ? error.stack : String(error);
    process.stderr.write(`FAILED: ${message}\n`);
    process.exit(1);
  },
);
