--
-- A protocol-detected script written for real ntopng: it reads the L7 tables through
-- ntopng's flat dotted keys only.
--

local tls = flow.tls_quic()
local sni = tls["protos.tls.client_requested_server_name"]
local names = tls["protos.tls.server_names"]

if sni ~= nil and names ~= nil then
   if not string.find("," .. names .. ",", "," .. sni .. ",", 1, true) then
      flow.triggerAlert(80, "certificate for " .. names .. " does not cover " .. sni)
   end
end

if tls["protos.tls.ja3.server_unsafe_cipher"] == "insecure" then
   flow.triggerAlert(60, "insecure cipher " .. tls["protos.tls.ja3.server_cipher"] .. " (TLS " .. tls["protos.tls_version"] .. ")")
end

local dns = flow.dns()
if dns["protos.dns.last_return_code"] == 3 then
   flow.triggerAlert(30, "NXDOMAIN for " .. dns["protos.dns.last_query"])
end

local http = flow.http()
if http["protos.http.last_return_code"] == 200 and http["protos.http.last_user_agent"] then
   flow.triggerAlert(10, http["protos.http.last_method"] .. " " .. http["protos.http.last_url"] .. " by " .. http["protos.http.last_user_agent"])
end

local ssh = flow.ssh()
if ssh["protos.ssh.hassh.client_hash"] == "ec7378c1a92f5a8dde7e8b7a1ddf33d1" then
   flow.triggerAlert(20, "known SSH client " .. ssh["protos.ssh.client_signature"])
end

return(0)
