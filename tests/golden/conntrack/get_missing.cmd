conntrack -G -p tcp -s 10.9.9.9 -d 10.9.9.8 --sport 1 --dport 2
