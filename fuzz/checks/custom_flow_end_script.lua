-- The fuzz target's check (ntopng layout, end hook): ntopng's dotted keys, then one alert the
-- target predicts: score flow.vlan_id() (clamped to 0..255), message "<cli>:<cli_port>".
local touch = require("lib.touch")

for _, t in ipairs({ flow.http(), flow.dns(), flow.ssh(), flow.tls_quic() }) do
   touch(t["protos.http.last_url"])
   touch(t["protos.dns.last_query"])
   touch(t["protos.ssh.hassh.client_hash"])
   touch(t["protos.tls.client_requested_server_name"])
   touch(t["protos.tls.notBefore"])
   touch(t["protos.tls.ja3.server_unsafe_cipher"])
end
flow.triggerAlert(flow.vlan_id(), flow.cli() .. ":" .. flow.cli_port())
return(0)
