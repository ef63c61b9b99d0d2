conntrack -L -u UNSET -p udp
