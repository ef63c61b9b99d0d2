conntrack -G -p tcp
