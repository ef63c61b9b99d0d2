conntrack -D -p tcp -s 10.0.1.2 --dport 9090
