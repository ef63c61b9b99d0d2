conntrack -L -p udp
