-- lua_utils, as bundled with flowlua: the part flow scripts use.
--
-- ntopng's lua_utils pulls in dozens of ntopng modules; this one provides tprint, a recursive
-- table printer that writes with io.write. It defines globals, like ntopng's.

local function sorted_keys(t)
   local keys = {}
   for k in pairs(t) do
      keys[#keys + 1] = k
   end
   table.sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      if ta == "number" or ta == "string" then return a < b end
      return tostring(a) < tostring(b)
   end)
   return keys
end

local function dump(value, indent, seen)
   if type(value) ~= "table" then
      io.write(tostring(value), "\n")
      return
   end
   if seen[value] then
      io.write("<cycle>\n")
      return
   end
   seen[value] = true
   io.write("{\n")
   local pad = string.rep("  ", indent + 1)
   for _, k in ipairs(sorted_keys(value)) do
      io.write(pad, tostring(k), " = ")
      dump(value[k], indent + 1, seen)
   end
   io.write(string.rep("  ", indent), "}\n")
   seen[value] = nil
end

-- Prints any value; tables recursively, keys sorted, cycles marked.
function tprint(value, indent)
   dump(value, indent or 0, {})
end

-- True for nil and "".
function isEmptyString(s)
   return s == nil or s == ""
end

return { tprint = tprint, isEmptyString = isEmptyString }
