"""A minimal SBC config for running the lab before a rendered one exists.

`voxops lab up --standin` uses it; the normal path deploys the rendered configs with
`voxops deploy`. It keeps only what the drills exercise: weighted carrier dispatch with
OPTIONS probing and failover, an agent set, admission (486 over the limit), record-route.
"""

from __future__ import annotations

from pathlib import Path

from voxops.spec.models import SbcNode, Topology

CARRIER_SET, AGENT_SET = 1, 2


def dispatcher_list(topology: Topology) -> str:
    lines = []
    for _carrier, trunk in topology.trunks():
        for host in trunk.hosts:
            lines.append(
                f"{CARRIER_SET} sip:{host.address}:{host.port} 0 {trunk.priority} "
                f"weight={trunk.weight};duid={trunk.name}"
            )
    for agent in topology.agents.instances:
        lines.append(f"{AGENT_SET} sip:{agent.host}:{agent.sip_port} 0 0 weight=50;duid={agent.name}")
    return "\n".join(lines) + "\n"


def kamailio_cfg(topology: Topology, node: SbcNode, *, dispatcher: Path, ctl: Path) -> str:
    ping = topology.carriers[0].trunks[0].options_ping
    agents = " || ".join(f'$si == "{a.host}"' for a in topology.agents.instances)
    limit = topology.sbc.admission.max_concurrent_calls if topology.sbc.admission else 1_000_000
    listens = "\n".join(f"listen={t.value}:{a}:{p}" for t, a, p in node.sockets())
    fr_ms = 1000
    return f"""#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
{listens}
alias="{topology.sbc.domain}"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "ctl.so"
loadmodule "dialog.so"
loadmodule "dispatcher.so"

modparam("ctl", "binrpc", "unix:{ctl}")
modparam("tm", "fr_timer", {fr_ms})
modparam("tm", "fr_inv_timer", 30000)
modparam("rr", "enable_full_lr", 1)
modparam("dialog", "profiles_no_value", "calls")
modparam("dispatcher", "list_file", "{dispatcher}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", {ping.interval_s})
modparam("dispatcher", "ds_probing_threshold", {ping.failure_threshold})
modparam("dispatcher", "ds_inactive_threshold", {ping.success_threshold})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_ping_reply_codes", "class=2")
modparam("dispatcher", "ds_ping_from", "sip:{node.name}@{topology.sbc.domain}")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("OPTIONS") && $rU == $null) {{ sl_send_reply("200", "OK"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK") && t_check_trans()) {{ t_relay(); exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    t_check_trans();
    record_route();
    if ({agents or "false"}) {{
        if (!ds_select_dst("{CARRIER_SET}", "9")) {{ sl_send_reply("503", "No Carrier"); exit; }}
        t_on_failure("CARRIER_FAILOVER");
        t_relay(); exit;
    }}
    dlg_manage();
    set_dlg_profile("calls");
    if (get_profile_size("calls", "$var(n)") && $var(n) > {limit}) {{
        sl_send_reply("486", "Busy Here"); exit;
    }}
    if (!ds_select_dst("{AGENT_SET}", "4")) {{ sl_send_reply("503", "No Agent"); exit; }}
    t_on_failure("AGENT_FAILOVER");
    t_relay();
}}

failure_route[CARRIER_FAILOVER] {{
    if (t_is_canceled()) exit;
    if (t_check_status("486|603")) exit;
    if (t_check_status("503")) ds_mark_dst("ip");
    if (t_check_status("5[0-9][0-9]|408") || (t_branch_timeout() && !t_branch_replied())) {{
        if (t_branch_timeout() && !t_branch_replied()) ds_mark_dst("ip");
        if (ds_next_dst()) {{ t_on_failure("CARRIER_FAILOVER"); t_relay(); }}
    }}
}}

failure_route[AGENT_FAILOVER] {{
    if (t_is_canceled()) exit;
    if (t_check_status("5[0-9][0-9]|408") || (t_branch_timeout() && !t_branch_replied())) {{
        if (t_branch_timeout() && !t_branch_replied()) ds_mark_dst("ip");
        if (ds_next_dst()) {{ t_on_failure("AGENT_FAILOVER"); t_relay(); }}
    }}
}}

event_route[dispatcher:dst-down] {{
    xlog("L_ALERT", "dispatcher dst-down $ru\\n");
}}

event_route[dispatcher:dst-up] {{
    xlog("L_ALERT", "dispatcher dst-up $ru\\n");
}}
"""
