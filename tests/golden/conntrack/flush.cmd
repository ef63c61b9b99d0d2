conntrack -F
