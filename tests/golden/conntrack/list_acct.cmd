conntrack -L -p udp --sport 40006
