conntrack -S
