conntrack -L -m 7
