-F
web
