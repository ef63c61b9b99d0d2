conntrack -E -p udp
