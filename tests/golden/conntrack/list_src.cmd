conntrack -L -s 10.0.1.2 -p icmp
