conntrack -C
