-- Large DNS responses (possible DNS tunneling): the spec's example, run once the flow's
-- classification is final (nDPI has seen the response by then).
local large_dns_response = {}

function large_dns_response.check(flow_info)
    local dns = flow.dns()
    if dns and dns.last_return_code == 0 then
        local srv2cli = flow.srv2cli_bytes()
        if srv2cli > 512 then
            flow.triggerAlert(50, "Large DNS response: " .. tostring(srv2cli) .. " bytes for "
                .. tostring(dns.last_query))
        end
    end
end

return large_dns_response
