conntrack -L -D
