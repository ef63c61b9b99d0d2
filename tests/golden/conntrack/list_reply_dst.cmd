conntrack -L -q 10.0.2.1 -p tcp --reply-port-src 9090
