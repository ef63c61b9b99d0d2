conntrack -D -p udp --dport 5353
