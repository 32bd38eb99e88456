-- flow_consts, as bundled with flowlua.
--
-- ntopng's own flow_consts describes NetFlow fields and flow status definitions and pulls in many
-- ntopng modules. This one keeps the names that flow checks use, and adds the `alert_types` that
-- lua_flow_api.md's example passes to flow.triggerAlert.

local flow_consts = {}

-- Scores for flow.triggerAlert. flowlua, like ntopng's custom flow alerts, keeps a score in
-- 8 bits: values are clamped to 0..max_score.
flow_consts.max_score = 255

flow_consts.alert_types = {
   flow_score = 100,
}

-- ntopng fills these from its definition directories; flowlua has none.
flow_consts.status_types = {}
flow_consts.flow_fields_description = {}

return flow_consts
