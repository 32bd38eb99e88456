-- TLS servers presenting a self-signed certificate (issuer = subject), named by the SNI the
-- client asked for.
local self_signed_cert = {}

function self_signed_cert.check(flow_info)
    local tls = flow.tls_quic()
    if tls.issuerDN and tls.issuerDN == tls.subjectDN then
        flow.triggerAlert(80, string.format("Self-signed certificate for %s (%s)",
            tls.client_requested_server_name or flow.srv(), tls.subjectDN))
    end
end

return self_signed_cert
