-- Drives `tailgrant lsp` from Neovim's built-in LSP client, headless, and writes what the
-- editor received as JSON for tests/lsp_neovim.rs to assert.
--
--   TAILGRANT_BIN=... TAILGRANT_POLICY=... TAILGRANT_TAILNET=... TAILGRANT_RESULT=... \
--     nvim --headless --clean -n -i NONE -c "luafile tests/lsp/neovim.lua"
--
-- Every step runs in its own pcall: a failing step is recorded under `errors` and the others
-- still run, so one report shows every feature that does not work. The script always writes
-- its result and quits; the Rust test bounds the whole run in time.

local env = {
  bin = os.getenv("TAILGRANT_BIN"),
  policy = os.getenv("TAILGRANT_POLICY"),
  tailnet = os.getenv("TAILGRANT_TAILNET"),
  result = os.getenv("TAILGRANT_RESULT"),
}
local TIMEOUT_MS = 10000
local results = { errors = {}, steps = {} }

local function write_results()
  local file = io.open(env.result, "w")
  if file then
    file:write(vim.fn.json_encode(results))
    file:close()
  end
end

-- The latest diagnostics the server published for the policy, as the raw LSP objects.
local published = nil
local publish_count = 0

local function on_publish(err, result, ctx, config)
  if result and result.uri == vim.uri_from_fname(env.policy) then
    published = result.diagnostics
    publish_count = publish_count + 1
  end
  return vim.lsp.diagnostic.on_publish_diagnostics(err, result, ctx, config)
end

local function start_server(bufnr)
  local config = {
    name = "tailgrant",
    cmd = { env.bin, "lsp" },
    root_dir = vim.fn.fnamemodify(env.policy, ":h"),
    init_options = { tailnet = env.tailnet },
    handlers = { ["textDocument/publishDiagnostics"] = on_publish },
  }
  if vim.lsp.start then
    -- Neovim 0.8 and later: start (or reuse) the client and attach the current buffer.
    return vim.lsp.start(config)
  end
  -- Neovim 0.7 (Debian 12's package) has no vim.lsp.start.
  local client_id = vim.lsp.start_client(config)
  if client_id then
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  return client_id
end

local bufnr
local client

local function lines()
  return vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
end

local function text()
  return table.concat(lines(), "\n") .. "\n"
end

-- The LSP position of the `nth` occurrence of the literal `needle`, `shift` characters into
-- it, with the column in the encoding the client agreed on: bytes for UTF-8 (which a recent
-- Neovim offers), else UTF-16 units.
local function position_of(needle, nth, shift)
  local seen = 0
  for index, line in ipairs(lines()) do
    local from = 1
    while true do
      local s = string.find(line, needle, from, true)
      if not s then
        break
      end
      seen = seen + 1
      if seen == nth then
        if client.offset_encoding == "utf-8" then
          return { line = index - 1, character = s - 1 + (shift or 0) }
        end
        local _, utf16 = vim.str_utfindex(line, s - 1)
        return { line = index - 1, character = utf16 + (shift or 0) }
      end
      from = s + 1
    end
  end
  error(string.format("occurrence %d of %q not found", nth, needle))
end

local function doc()
  return { uri = vim.uri_from_bufnr(bufnr) }
end

-- buf_request_sync rather than client.request_sync, whose calling form changed in 0.11.
local function request(method, params)
  local responses, err = vim.lsp.buf_request_sync(bufnr, method, params, TIMEOUT_MS)
  local response = responses and responses[client.id]
  if not response then
    error(method .. ": no response: " .. tostring(err))
  end
  if response.err then
    error(method .. ": " .. vim.inspect(response.err))
  end
  return response.result
end

-- Hover contents (MarkupContent, MarkedString or a list of them) as one string.
local function hover_text(result)
  if result == nil or result == vim.NIL then
    return nil
  end
  local parts = {}
  local function add(c)
    if type(c) == "string" then
      table.insert(parts, c)
    elseif type(c) == "table" and c.value then
      table.insert(parts, c.value)
    elseif type(c) == "table" then
      for _, item in ipairs(c) do
        add(item)
      end
    end
  end
  add(result.contents)
  return table.concat(parts, "\n")
end

-- Location, Location[] or LocationLink[] as a list of {uri, range}.
local function locations(result)
  if result == nil or result == vim.NIL then
    return {}
  end
  if result.uri or result.targetUri then
    result = { result }
  end
  local out = {}
  for _, l in ipairs(result) do
    table.insert(out, { uri = l.uri or l.targetUri, range = l.range or l.targetSelectionRange })
  end
  return out
end

local function symbol_names(symbols, out)
  for _, s in ipairs(symbols or {}) do
    table.insert(out, s.name)
    symbol_names(s.children, out)
  end
  return out
end

local function wait_for(condition)
  return vim.wait(TIMEOUT_MS, condition, 20)
end

local function step(name, fn)
  local ok, err = pcall(fn)
  table.insert(results.steps, name)
  if not ok then
    results.errors[name] = tostring(err)
  end
end

local function main()
  vim.cmd("edit " .. vim.fn.fnameescape(env.policy))
  bufnr = vim.api.nvim_get_current_buf()
  local client_id = start_server(bufnr)
  if not client_id then
    error("the client did not start: " .. env.bin .. " lsp")
  end
  if not wait_for(function()
    client = vim.lsp.get_client_by_id(client_id)
    return client ~= nil and published ~= nil and #published > 0
  end) then
    error("no diagnostics published within " .. TIMEOUT_MS .. " ms")
  end
  results.offset_encoding = client.offset_encoding
  results.original = text()

  step("diagnostics", function()
    results.diagnostics = published
    results.editor_diagnostics = #vim.diagnostic.get(bufnr)
  end)

  -- The second `group:eng` is its first use, in the first grant's `src`.
  local use = position_of('"group:eng"', 2, 2)

  step("hover_selector", function()
    results.hover_selector = hover_text(request("textDocument/hover", { textDocument = doc(), position = use }))
  end)

  step("hover_field", function()
    local at = position_of('"tagOwners"', 1, 2)
    results.hover_field = hover_text(request("textDocument/hover", { textDocument = doc(), position = at }))
  end)

  step("hover_diagnostic", function()
    local at = position_of('"tag:wbe"', 1, 2)
    results.hover_diagnostic = hover_text(request("textDocument/hover", { textDocument = doc(), position = at }))
  end)

  step("definition", function()
    results.definition = locations(request("textDocument/definition", { textDocument = doc(), position = use }))
  end)

  step("references", function()
    results.references = locations(request("textDocument/references", {
      textDocument = doc(),
      position = use,
      context = { includeDeclaration = true },
    }))
  end)

  step("document_symbols", function()
    local symbols = request("textDocument/documentSymbol", { textDocument = doc() })
    results.document_symbols = symbol_names(symbols, {})
  end)

  step("completion", function()
    -- Just after the opening quote of the third grant's `src` selector.
    local at = position_of('"group:ops"', 4, 1)
    local result = request("textDocument/completion", { textDocument = doc(), position = at })
    local items = result and (result.items or result) or {}
    local labels = {}
    for _, item in ipairs(items) do
      table.insert(labels, item.label)
    end
    results.completion = labels
  end)

  step("code_action", function()
    local fix = nil
    for _, d in ipairs(published) do
      if d.code == "TG0201" then
        fix = d
      end
    end
    if not fix then
      error("no TG0201 diagnostic to fix")
    end
    local actions = request("textDocument/codeAction", {
      textDocument = doc(),
      range = fix.range,
      context = { diagnostics = { fix } },
    }) or {}
    results.code_actions = {}
    local chosen = nil
    for _, a in ipairs(actions) do
      table.insert(results.code_actions, a.title)
      if chosen == nil and a.edit and string.find(a.title, "tag:web", 1, true) then
        chosen = a
      end
    end
    if not chosen then
      error("no code action with an edit names `tag:web`: " .. vim.inspect(results.code_actions))
    end
    local before = publish_count
    vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
    results.after_code_action = text()
    -- The edit reaches the server as didChange; it publishes the new diagnostics.
    wait_for(function()
      return publish_count > before
    end)
    local codes = {}
    for _, d in ipairs(published) do
      table.insert(codes, d.code)
    end
    results.codes_after_code_action = codes
  end)

  step("rename", function()
    local at = position_of('"group:eng"', 2, 2)
    local edit = request("textDocument/rename", {
      textDocument = doc(),
      position = at,
      newName = "group:engineering",
    })
    if edit == nil or edit == vim.NIL then
      error("rename returned no edit")
    end
    vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding)
    results.after_rename = text()
  end)

  step("formatting", function()
    local edits = request("textDocument/formatting", {
      textDocument = doc(),
      options = { tabSize = 4, insertSpaces = false },
    })
    vim.lsp.util.apply_text_edits(edits or {}, bufnr, client.offset_encoding)
    results.after_format = text()
  end)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  results.fatal = tostring(err)
end
write_results()
vim.cmd("qa!")
