-- wrk script for scripts/bench-serve.sh: POST /v1/verifications/{id}/check with a wrong code,
-- round robin over the challenges listed in the file named by VERIBIND_IDS (one "<id> <code>" a
-- line: a code that is not the challenge's), with the API key in VERIBIND_API_KEY. The requests
-- are formatted once, when each wrk thread loads the script, so that wrk spends its time on the
-- sockets.
local key = os.getenv("VERIBIND_API_KEY")
local ids_file = os.getenv("VERIBIND_IDS")
assert(key and ids_file, "VERIBIND_API_KEY and VERIBIND_IDS must be set")

local headers = {
  ["Authorization"] = "Bearer " .. key,
  ["Content-Type"] = "application/json",
}
local requests = {}
for line in io.lines(ids_file) do
  local id, code = line:match("^(%x+) (%d+)$")
  requests[#requests + 1] = wrk.format("POST", "/v1/verifications/" .. id .. "/check", headers,
    '{"code":"' .. code .. '"}')
end
assert(#requests > 0, "no challenges in " .. ids_file)

local next_request = 1
request = function()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end
