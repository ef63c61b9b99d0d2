conntrack -G -p tcp -s 10.0.1.2 -d 10.0.2.2 --sport 40001 --dport 8080
