-- POST /v1/pos/sales: a distinct receipt and Idempotency-Key per request, 1-5 lines, a random
-- member of the seeded ones; one request in six presents a coupon the member owns and one in
-- six redeems points (while this thread's share of coupons and points lasts).
-- Data (members, coupons, redeemers, token) comes from the file named by BENCH_DATA.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  ok, failed, special = 0, 0, 0
  by_status = {}
  data = dofile(os.getenv("BENCH_DATA"))
  math.randomseed(id * 7919 + os.time())
  counter = 0
  coupon_next = 1 + id
  redeemer_next = 1 + id
  threads_n = tonumber(os.getenv("BENCH_THREADS"))
  skus = {"TOWEL", "SHEET", "PILLOW", "DUVET", "MUG", "CANDLE", "RUG", "THROW"}
end

function request()
  counter = counter + 1
  local receipt = string.format("B%s-%d-%d", data.run, id, counter)
  local member = data.members[math.random(#data.members)]
  local extra = ""
  local pick = counter % 6
  if pick == 1 and coupon_next <= #data.coupons then
    local c = data.coupons[coupon_next]
    coupon_next = coupon_next + threads_n
    member = c[1]
    extra = string.format(', "coupon_codes": ["%s"]', c[2])
    special = special + 1
  elseif pick == 4 and #data.redeemers > 0 then
    -- redeemers are split among threads; each is seeded with enough points for many spends
    local r = data.redeemers[redeemer_next]
    redeemer_next = redeemer_next + threads_n
    if redeemer_next > #data.redeemers then redeemer_next = 1 + id end
    member = r
    extra = string.format(', "redeem_points": %d', data.redeem_points)
    special = special + 1
  end
  local lines = {}
  for i = 1, math.random(5) do
    lines[i] = string.format('{"sku": "%s", "quantity": %d, "unit_price": %d}',
      skus[math.random(#skus)], math.random(3), 500 + math.random(20000))
  end
  local body = string.format('{"receipt_id": "%s", "member_id": "%s", "lines": [%s]%s}',
    receipt, member, table.concat(lines, ", "), extra)
  return wrk.format("POST", "/v1/pos/sales", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. terminal_token(counter),
    ["Idempotency-Key"] = receipt,
  }, body)
end
