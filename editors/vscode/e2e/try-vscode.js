// Drives VS Code (code-server in headless Chromium, through playwright-core) with the
// tailgrant extension installed, and checks what the editor shows against the command line:
//   (a) the finding of `tailgrant check` on a policy with a known error, in the Problems panel
//       and in the hover over its squiggle (same code, message, line and column);
//   (b) the hover on a selector (its members' nodes, from the tailnet.json beside the policy);
//   (c) "Format Document", then save: the file is exactly `tailgrant fmt -` of the original.
// Run by scripts/try-vscode.sh, which starts code-server; environment:
//   TG_URL        code-server's address (http://127.0.0.1:PORT/)
//   TG_WORKSPACE  the folder opened (copies of policy-examples/ and the erroneous policy)
//   TG_ERROR      the file name, in TG_WORKSPACE, of the policy with a known error
//   TAILGRANT     the tailgrant executable (for the expected output)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   TG_SHOTS      the folder the screenshots (PNG) are written to
// playwright-core is found through NODE_PATH. Exit 0: every check passed; 1: a check failed;
// 2: the run itself broke (the editor did not come up, a selector was not found...).
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    console.error(`try-vscode: ${name} is not set`);
    process.exit(2);
  }
  return value;
};
const url = env("TG_URL");
const workspace = env("TG_WORKSPACE");
const errorFile = env("TG_ERROR");
const tailgrant = env("TAILGRANT");
const browserPath = env("CHROMIUM", "/usr/bin/chromium");
const shots = env("TG_SHOTS");

const failures = [];
const check = (what, ok, detail) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) {
    console.log(`     ${String(detail).replace(/\n/g, "\n     ")}`);
    failures.push(what);
  }
};

// The 1-based line and column of the n-th (0-based) occurrence of needle in text.
function position(text, needle, n) {
  let at = -1;
  for (let i = 0; i <= n; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`${needle} (occurrence ${n}) not found`);
  }
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

let browser;
let page;

async function main() {
  // What the command line says.
  const errorPath = path.join(workspace, errorFile);
  let report;
  try {
    execFileSync(tailgrant, ["check", "--format", "json", errorPath], { encoding: "utf8" });
    throw new Error(`tailgrant check found nothing wrong in ${errorFile}`);
  } catch (e) {
    if (e.stdout === undefined) throw e;
    report = JSON.parse(e.stdout);
  }
  const expected = report.files[0].diagnostics[0];
  console.log(
    `expected finding: ${expected.code} ${JSON.stringify(expected.message)} at ${expected.line}:${expected.column}`,
  );
  const formatFile = "broken.hujson";
  const formatPath = path.join(workspace, formatFile);
  const original = fs.readFileSync(formatPath, "utf8");
  const formatted = execFileSync(tailgrant, ["fmt", "-"], { input: original, encoding: "utf8" });
  if (formatted === original) throw new Error(`${formatFile} is already formatted: nothing to check`);
  const hoverFile = "relays-per-region.hujson";
  const hoverText = fs.readFileSync(path.join(workspace, hoverFile), "utf8");

  browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const shot = async (name) => {
    const file = path.join(shots, name);
    await page.screenshot({ path: file });
    console.log(`     screenshot ${file}`);
  };
  const quickPick = async (key, text, label) => {
    await page.keyboard.press(key);
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill(text);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: label });
    await row.first().waitFor({ state: "visible", timeout: 20000 });
    await row.first().click();
  };
  const open = async (file) => {
    await quickPick("Control+P", file, file);
    await page.locator(`.tab.active[aria-label^="${file}"]`).waitFor({ timeout: 20000 });
    await page.locator(".monaco-editor .view-lines").first().waitFor();
  };
  const command = async (name) => quickPick("F1", `>${name}`, new RegExp(`^${name}`));
  const goTo = async (line, column) => {
    await page.locator(".monaco-editor textarea").first().focus();
    await page.keyboard.press("Control+G");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill(`:${line}:${column}`);
    await page.keyboard.press("Enter");
    await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  };
  // The text of the editor's hover at a position, or "" when none shows up.
  const hover = ".monaco-editor .monaco-hover:not(.hidden) .monaco-hover-content";
  const hoverAt = async (line, column) => {
    await goTo(line, column);
    await command("Show or Focus Hover");
    // Wait for the server's answer, not only the "Loading..." of the widget.
    const shown = await page
      .waitForFunction(
        (selector) => {
          const h = document.querySelector(selector);
          const text = h === null ? "" : h.innerText.trim();
          return text !== "" && !text.startsWith("Loading");
        },
        hover,
        { timeout: 20000 },
      )
      .then(() => true)
      .catch(() => false);
    return shown ? page.locator(hover).first().innerText() : "";
  };

  await page.goto(`${url}?folder=${encodeURIComponent(workspace)}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
  await page.locator(".explorer-folders-view").waitFor({ timeout: 60000 });

  // (a) The finding of `tailgrant check`: Problems panel, then the hover over the squiggle.
  await open(errorFile);
  await page.keyboard.press("Control+Shift+M");
  const marker = page.locator(".markers-panel .monaco-list-row", { hasText: expected.message });
  const found = await marker
    .first()
    .waitFor({ timeout: 30000 })
    .then(() => true)
    .catch(() => false);
  const problems = await page.locator(".markers-panel").innerText();
  check(
    `Problems panel shows ${expected.code} "${expected.message}" [Ln ${expected.line}, Col ${expected.column}]`,
    found &&
      problems.includes(expected.code) &&
      problems.includes(`[Ln ${expected.line}, Col ${expected.column}]`),
    `Problems panel:\n${problems}`,
  );
  await shot("1-problems.png");
  const squiggle = await hoverAt(expected.line, expected.column + 1);
  check(
    "the hover over the squiggle shows the same message and code",
    squiggle.includes(expected.message) && squiggle.includes(expected.code),
    `hover:\n${squiggle}`,
  );
  await shot("2-diagnostic-hover.png");
  await page.keyboard.press("Escape");

  // (b) Hover on a selector.
  await open(hoverFile);
  const at = position(hoverText, '"tag:ci"', 1);
  const selector = await hoverAt(at.line, at.column + 2);
  check(
    `hover on "tag:ci" (${hoverFile}:${at.line}:${at.column}) shows the tag and its node`,
    selector.includes("tag:ci") && selector.includes("ci-runner"),
    `hover:\n${selector}`,
  );
  console.log(`     hover text: ${JSON.stringify(selector)}`);
  await shot("3-selector-hover.png");
  await page.keyboard.press("Escape");

  // (c) Format Document, save, compare with `tailgrant fmt`.
  await open(formatFile);
  await shot("4-before-format.png");
  await page.locator(".monaco-editor textarea").first().focus();
  await command("Format Document");
  await page.waitForTimeout(1000);
  await page.locator(".monaco-editor textarea").first().focus();
  await page.keyboard.press("Control+S");
  let onDisk = original;
  for (let i = 0; i < 40 && onDisk === original; i++) {
    await page.waitForTimeout(250);
    onDisk = fs.readFileSync(formatPath, "utf8");
  }
  check(
    `"Format Document" then save gives exactly \`tailgrant fmt\`'s output (${formatted.length} bytes)`,
    onDisk === formatted,
    `saved file:\n${onDisk}\nexpected:\n${formatted}`,
  );
  await shot("5-after-format.png");

  await browser.close();
}

main().then(
  () => {
    if (failures.length > 0) {
      console.log(`${failures.length} check(s) failed`);
      process.exit(1);
    }
    console.log("all checks passed");
  },
  async (e) => {
    console.error(`try-vscode: ${e.stack ?? e}`);
    if (page !== undefined) {
      await page.screenshot({ path: path.join(shots, "error.png") }).catch(() => {});
      console.error(`try-vscode: screenshot ${path.join(shots, "error.png")}`);
    }
    process.exit(2);
  },
);
