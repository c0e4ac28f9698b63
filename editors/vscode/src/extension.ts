// The VS Code side of `tailgrant lsp`: starts the server for Tailscale policy files and
// restarts it when a `tailgrant.*` setting changes. Everything the editor shows (diagnostics,
// hover, completion, rename, quick fixes, formatting) comes from the server.

import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import { launch } from "./config";

let client: LanguageClient | undefined;

// vscode-languageclient rejects a failed start with a string ("Launching server using command
// ... failed. Error: spawn ... ENOENT"), not an Error.
function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function start(): Promise<void> {
  const settings = vscode.workspace.getConfiguration("tailgrant");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let server;
  try {
    server = launch({ path: settings.get<string>("path"), tailnet: settings.get<string>("tailnet") }, folder);
  } catch (e) {
    void vscode.window.showErrorMessage(`tailgrant: ${reason(e)}`);
    return;
  }
  const serverOptions: ServerOptions = { command: server.command, args: server.args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: "tailscale-policy" }],
    initializationOptions: server.initializationOptions,
  };
  client = new LanguageClient("tailgrant", "tailgrant", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (e) {
    void vscode.window.showErrorMessage(
      `tailgrant: could not start \`${server.command} lsp\` (${reason(e)}); set \`tailgrant.path\``,
    );
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running !== undefined) {
    await running.stop();
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("tailgrant")) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

export function deactivate(): Promise<void> {
  return stop();
}
