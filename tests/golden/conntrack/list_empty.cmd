conntrack -L
