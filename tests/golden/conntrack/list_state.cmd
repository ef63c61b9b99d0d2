conntrack -L -p tcp --state ESTABLISHED
