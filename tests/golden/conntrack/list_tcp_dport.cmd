conntrack -L -p tcp --dport 8080
