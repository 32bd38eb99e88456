-- Touches a value the way checks do: every key and value of a table (recursively), string and
-- number operations on each. Returns how many values it saw. Never fails on any value a flow
-- record can hold.
local function touch(value, seen)
   seen = (seen or 0) + 1
   local kind = type(value)
   if kind == "table" then
      for k, v in pairs(value) do
         seen = touch(v, touch(k, seen))
      end
   elseif kind == "string" then
      local _ = #value, value:upper(), value:sub(2, -2), value:rep(2, ","), value:byte(1, 64)
      _ = value:find("=", 1, true), value:match("^(%w+)%.(.*)$"), value:gsub("%c", "?")
      _ = string.format("%q %s", value, value), utf8.len(value), tonumber(value)
   elseif kind == "number" then
      local _ = tostring(value), value + 1, value * 2, value // 1, value % 7, value < 0
      _ = math.type(value), math.tointeger(value), math.floor(value), string.format("%g", value)
   end
   return seen
end

return touch
