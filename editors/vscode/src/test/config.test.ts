import * as assert from "node:assert/strict";
import { test } from "node:test";
import { expand, launch } from "../config";

test("the default starts tailgrant from PATH with no tailnet", () => {
  assert.deepEqual(launch({}, "/ws", "/home/u"), {
    command: "tailgrant",
    args: ["lsp"],
    initializationOptions: {},
  });
});

test("a blank path falls back to tailgrant", () => {
  assert.equal(launch({ path: "  " }, "/ws", "/home/u").command, "tailgrant");
});

test("a path with ~ and ${workspaceFolder} is expanded", () => {
  assert.equal(launch({ path: "~/.cargo/bin/tailgrant" }, "/ws", "/home/u").command, "/home/u/.cargo/bin/tailgrant");
  assert.equal(launch({ path: "${workspaceFolder}/target/release/tailgrant" }, "/ws", "/home/u").command, "/ws/target/release/tailgrant");
});

test("a relative tailnet is taken from the workspace folder", () => {
  assert.deepEqual(launch({ tailnet: "tailscale/tailnet.json" }, "/ws", "/home/u").initializationOptions, {
    tailnet: "/ws/tailscale/tailnet.json",
  });
});

test("an absolute tailnet is kept", () => {
  assert.equal(launch({ tailnet: "/etc/tailnet.json" }, undefined, "/home/u").initializationOptions.tailnet, "/etc/tailnet.json");
});

test("a relative tailnet without a folder is refused, naming the setting", () => {
  assert.throws(() => launch({ tailnet: "tailnet.json" }, undefined, "/home/u"), /tailgrant\.tailnet .*absolute path/);
});

test("${workspaceFolder} without a folder is refused", () => {
  assert.throws(() => expand("${workspaceFolder}/x", undefined, "/home/u"), /no folder is open/);
});

test("~ only at the start is the home directory", () => {
  assert.equal(expand("a~/b", "/ws", "/home/u"), "a~/b");
  assert.equal(expand("~", "/ws", "/home/u"), "/home/u");
});
