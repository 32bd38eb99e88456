--
-- Flow end: prints the flow with print(), the way quick debugging scripts do.
--

function dump_flow()
   print("end", flow.l7_proto_name(), flow.cli2srv_bytes(), flow.srv2cli_bytes(), flow.is_oneway())
end

dump_flow()

return(0)
