conntrack -L --dport 80
