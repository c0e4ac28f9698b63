// How the extension starts `tailgrant lsp`, from its settings. Kept free of the `vscode`
// module so that node's test runner can test it without an editor.

import * as os from "node:os";
import * as path from "node:path";

/** The extension's settings, as `workspace.getConfiguration("tailgrant")` gives them. */
export interface Settings {
  /** `tailgrant.path`: the executable, a name in PATH or a path. */
  path?: string;
  /** `tailgrant.tailnet`: the tailnet file, relative to the workspace folder. */
  tailnet?: string;
}

/** The command line of the server and what `initialize` sends it. */
export interface Launch {
  command: string;
  args: string[];
  /** `initializationOptions` of `initialize`: the tailnet file, when one is set. */
  initializationOptions: { tailnet?: string };
}

/** `~` at the start and `${workspaceFolder}` anywhere, expanded. */
export function expand(value: string, workspaceFolder: string | undefined, home = os.homedir()): string {
  let out = value;
  if (out === "~" || out.startsWith("~/")) {
    out = path.join(home, out.slice(1));
  }
  if (out.includes("${workspaceFolder}")) {
    if (workspaceFolder === undefined) {
      throw new Error("`${workspaceFolder}` is used in a setting but no folder is open");
    }
    out = out.split("${workspaceFolder}").join(workspaceFolder);
  }
  return out;
}

/**
 * The launch of `tailgrant lsp` for these settings. An empty or blank `tailgrant.path` means
 * `tailgrant` from PATH; a relative `tailgrant.tailnet` is taken from the workspace folder,
 * and is refused when no folder is open (rather than resolved against an unknown directory).
 */
export function launch(settings: Settings, workspaceFolder: string | undefined, home = os.homedir()): Launch {
  const configured = (settings.path ?? "").trim();
  const command = configured === "" ? "tailgrant" : expand(configured, workspaceFolder, home);
  const initializationOptions: { tailnet?: string } = {};
  const tailnet = (settings.tailnet ?? "").trim();
  if (tailnet !== "") {
    const expanded = expand(tailnet, workspaceFolder, home);
    if (path.isAbsolute(expanded)) {
      initializationOptions.tailnet = expanded;
    } else if (workspaceFolder !== undefined) {
      initializationOptions.tailnet = path.join(workspaceFolder, expanded);
    } else {
      throw new Error(`tailgrant.tailnet \`${tailnet}\` is relative but no folder is open: give an absolute path`);
    }
  }
  return { command, args: ["lsp"], initializationOptions };
}
