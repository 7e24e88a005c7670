-- bench.lua is the one wrk script of `make bench` (e2e/cmd/bench runs
-- `wrk -t1 -c16 -s bench.lua`). Every workload, the bare baseline included,
-- goes through it, so that the load generator does the same work on both
-- sides of a ratio: build or pick a request, and check every answer.
--
-- The bench program sets, in wrk's environment:
--   BENCH_METHOD, BENCH_PATH   the request line
--   BENCH_HEADERS              header lines "Name: value", separated by "\n"
--   BENCH_BODY                 one body for every request, or
--   BENCH_BODIES               a file of bodies, one a line, sent in turn
--   BENCH_REFRESH=1            BENCH_BODIES holds refresh tokens: each is sent
--                              once, and the refresh_token of each good answer
--                              goes back into the pool
--   BENCH_POOL_OUT             with BENCH_REFRESH, where done() writes the
--                              refresh tokens left in the pool, one a line
--   BENCH_EXPECT               a 2xx counts only if its body contains this
-- done() prints one line, "BENCH " and a JSON object, that the bench reads.

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local expect = os.getenv("BENCH_EXPECT") or ""
local refresh = os.getenv("BENCH_REFRESH") == "1"

local headers = {}
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local k, v = line:match("^([^:]+):%s*(.*)$")
  if k then headers[k] = v end
end

local function lines(file)
  local out = {}
  local f = assert(io.open(file, "r"))
  for l in f:lines() do
    if l ~= "" then out[#out + 1] = l end
  end
  f:close()
  return out
end

-- Per thread (each wrk thread runs this file in its own Lua state).
ok, bad, why = 0, 0, {}
pool = {}
local reqs, nreq, i = {}, 0, 0
local head, tail = 1, 0

function init(args)
  local file = os.getenv("BENCH_BODIES")
  if refresh then
    for _, t in ipairs(lines(file)) do
      tail = tail + 1
      pool[tail] = t
    end
  elseif file and file ~= "" then
    for _, b in ipairs(lines(file)) do
      nreq = nreq + 1
      reqs[nreq] = wrk.format(method, path, headers, b)
    end
  else
    nreq = 1
    reqs[1] = wrk.format(method, path, headers, os.getenv("BENCH_BODY"))
  end
end

local function refreshRequest(token)
  return wrk.format(method, path, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function request()
  if refresh then
    if head > tail then
      -- Every family failed: this request fails too, and is counted.
      return refreshRequest("pool-ran-dry")
    end
    local t = pool[head]
    pool[head] = nil
    head = head + 1
    return refreshRequest(t)
  end
  i = i % nreq + 1
  return reqs[i]
end

local function fail(reason)
  bad = bad + 1
  if why[reason] then
    why[reason] = why[reason] + 1
  else
    local n = 0
    for _ in pairs(why) do n = n + 1 end
    if n < 8 then why[reason] = 1 end
  end
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    fail(tostring(status) .. " " .. (body or ""):sub(1, 80))
    return
  end
  if expect ~= "" and not (body and body:find(expect, 1, true)) then
    fail("unexpected 2xx body: " .. (body or ""):sub(1, 80))
    return
  end
  ok = ok + 1
  if refresh then
    local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if t then
      tail = tail + 1
      pool[tail] = t
    end
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local function jsonString(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local tok, tbad, whys, left = 0, 0, {}, {}
  for _, t in ipairs(threads) do
    tok = tok + t:get("ok")
    tbad = tbad + t:get("bad")
    for k, v in pairs(t:get("why")) do
      whys[#whys + 1] = jsonString(k) .. ":" .. v
    end
    for _, p in pairs(t:get("pool")) do
      left[#left + 1] = p
    end
  end
  local out = os.getenv("BENCH_POOL_OUT")
  if refresh and out and out ~= "" then
    local f = assert(io.open(out, "w"))
    for _, p in ipairs(left) do f:write(p, "\n") end
    f:close()
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"ok":%d,"bad":%d,"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"why":{%s}}\n',
    tok, tbad, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write, e.timeout, table.concat(whys, ",")))
end
