conntrack -L -p nosuchproto
