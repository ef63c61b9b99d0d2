-N
web
