-- The benchmarked check: five scalar fields and the HTTP, DNS and TLS tables.
local five_fields = {}

function five_fields.check(flow_info)
   local cli, srv = flow.cli(), flow.srv()
   local port, bytes = flow.srv_port(), flow.bytes()
   local name = flow.l7_proto_name()
   local http, dns, tls = flow.http(), flow.dns(), flow.tls_quic()
   if bytes > 1000000 and tls.client_requested_server_name == nil then
      flow.triggerAlert(10, "large flow without SNI " .. cli .. " -> " .. srv)
   end
   if port == 53 and dns.last_return_code == 3 then
      flow.triggerAlert(20, "NXDOMAIN " .. dns.last_query)
   end
   if http.return_code == 500 then
      flow.triggerAlert(30, name .. " server error " .. http.url)
   end
end

return five_fields
