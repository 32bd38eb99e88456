-- The fuzz target's check (spec layout): on every hook (check runs at all three), touches every
-- flow.* function's value and flow_info, then raises one alert whose score and message the
-- target predicts from the record: score flow.bytes() (clamped to 0..255), message
-- "<l7_proto_name>|<host_server_name>". The flow gets it once: later hooks repeat it.
local touch = require("lib.touch")

local names = {
   "cli", "cli_port", "srv", "srv_port", "vlan_id", "bytes", "cli2srv_bytes", "srv2cli_bytes",
   "protocol", "l7_master_proto", "l7_proto", "l7_proto_name", "direction", "is_oneway",
   "is_unicast", "http", "dns", "ssh", "tls_quic",
}

local function run(flow_info)
   for _, name in ipairs(names) do
      touch(flow[name]())
   end
   touch(flow_info)
   flow.triggerAlert(flow.bytes(), flow_info.l7_proto_name .. "|" .. (flow_info.host_server_name or ""))
end

return { check = run }
