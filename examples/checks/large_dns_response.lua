-- Large DNS responses (possible DNS tunneling): the spec's example in a check(), which runs when
-- the flow is classified and again at its end. The flow gets one alert, even if the byte count
-- it quotes grew in between.
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
