conntrack -D -p udp --dport 1
