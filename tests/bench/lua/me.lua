-- GET /v1/me with the token of a random member among those given tokens.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  ok, failed, special = 0, 0, 0
  by_status = {}
  data = dofile(os.getenv("BENCH_DATA"))
  math.randomseed(id * 15485863 + os.time())
end

function request()
  local token = data.member_tokens[math.random(#data.member_tokens)]
  return wrk.format("GET", "/v1/me", {["Authorization"] = "Bearer " .. token})
end
