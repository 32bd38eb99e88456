-- Large flows: more than 1 MB in both directions together, judged when the flow ends (its
-- byte counts are final then). The spec's boilerplate, unchanged, with flow_end instead of check.
local dirs = ntop.getDirs()
package.path = dirs.installdir .. "/scripts/lua/modules/?.lua;" .. package.path

local flow_consts = require("flow_consts")

local large_flow = {}

function large_flow.flow_end(flow_info)
    local bytes = flow.bytes()
    if bytes > 1000000 then
        flow.triggerAlert(flow_consts.alert_types.flow_score,
            string.format("Large flow detected: %d bytes (%s %s:%d -> %s:%d)", bytes,
                flow.l7_proto_name(), flow.cli(), flow.cli_port(), flow.srv(), flow.srv_port()))
    end
end

return large_flow
