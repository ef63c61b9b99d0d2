conntrack -L -p tcp --dport 1
