-- A check that does nothing: the engine's fixed cost per flow.
return { check = function(flow_info) end }
