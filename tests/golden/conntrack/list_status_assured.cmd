conntrack -L -u ASSURED
