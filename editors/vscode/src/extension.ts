// The VS Code side of `tailgrant lsp`: starts the server for Tailscale policy files and
// restarts it when a `tailgrant.*` setting changes. Everything the editor shows (diagnostics,
// hover, completion, rename, quick fixes, formatting) comes from the server.

import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import { launch } from "./config";

let client: LanguageClient | undefined;

async function start(): Promise<void> {
  const settings = vscode.workspace.getConfiguration("tailgrant");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let server;
  try {
    server = launch({ path: settings.get<string>("path"), tailnet: settings.get<string>("tailnet") }, folder);
  } catch (e) {
    void vscode.window.showErrorMessage(`tailgrant: ${(e as Error).message}`);
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
      `tailgrant: could not start \`${server.command} lsp\` (${(e as Error).message}); set \`tailgrant.path\``,
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
