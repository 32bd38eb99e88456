-- Writes what every flow.* function returns, one "name=type:value" line per value; tables as
-- "name={key count}" and then one line per key, sorted. At load (no flow) with the prefix
-- "outside.", and in every hook together with flow_info ("info.").

local functions = {
   "cli", "cli_port", "srv", "srv_port", "vlan_id",
   "bytes", "cli2srv_bytes", "srv2cli_bytes",
   "protocol", "l7_master_proto", "l7_proto", "l7_proto_name",
   "direction", "is_oneway", "is_unicast",
   "http", "dns", "ssh", "tls_quic",
}

local function show(name, value)
   local kind = type(value)
   if kind == "number" then
      kind = math.type(value)
   elseif kind == "table" then
      kind, value = "sequence", table.concat(value, ",")
   end
   io.write(name, "=", kind, ":", tostring(value), "\n")
end

local function show_table(name, t)
   local keys = {}
   for key in pairs(t) do keys[#keys + 1] = key end
   table.sort(keys)
   io.write(name, "={", #keys, "}\n")
   for _, key in ipairs(keys) do show(name .. "." .. key, t[key]) end
end

local function dump(prefix)
   for _, name in ipairs(functions) do
      local value = flow[name]()
      if type(value) == "table" then
         show_table(prefix .. name, value)
      else
         show(prefix .. name, value)
      end
   end
end

dump("outside.")
-- Outside a flow triggerAlert checks its arguments and does nothing.
flow.triggerAlert(10, "never raised")

local api = {}

local function run(flow_info)
   dump("")
   show_table("info", flow_info)
end

api.check = run
api.periodic_update = run
api.flow_end = run

return api
