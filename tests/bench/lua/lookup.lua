-- GET /v1/pos/members/lookup by card number or phone (alternating), a random seeded member.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  ok, failed, special = 0, 0, 0
  by_status = {}
  data = dofile(os.getenv("BENCH_DATA"))
  math.randomseed(id * 104729 + os.time())
  counter = 0
end

function request()
  counter = counter + 1
  local i = math.random(#data.cards)
  local query
  if counter % 2 == 0 then
    query = "card_number=" .. data.cards[i]
  else
    query = "phone=%2B" .. string.sub(data.phones[i], 2)
  end
  local headers = {["Authorization"] = "Bearer " .. terminal_token(counter)}
  return wrk.format("GET", "/v1/pos/members/lookup?" .. query, headers)
end
