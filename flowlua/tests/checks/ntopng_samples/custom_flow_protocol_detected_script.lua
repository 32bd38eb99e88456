--
-- Protocol detected: a script in the style of ntopng's shipped samples (helpers defined as
-- globals, a dummy alert for DNS, return(0) at the end).
--

function flow_key()
   return "[" .. flow.protocol() .. "] " .. flow.cli() .. ":" .. flow.cli_port() .. " <-> " .. flow.srv() .. ":" .. flow.srv_port()
end

function dump_flow()
   local dirs = ntop.getDirs()
   package.path = dirs.installdir .. "/scripts/lua/modules/?.lua;" .. package.path
   require "lua_utils"

   io.write("detected " .. flow_key() .. " " .. flow.l7_proto_name() .. "\n")
   tprint(flow.dns())
end

function trigger_dummy_alert()
   flow.triggerAlert(102, "dummy alert message")
end

dump_flow()

if flow.srv_port() == 53 then
   trigger_dummy_alert()
end

-- IMPORTANT: do not forget this return at the end of the script
return(0)
