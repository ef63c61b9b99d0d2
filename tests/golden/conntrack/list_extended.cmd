conntrack -L -o extended
